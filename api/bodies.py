"""Request bodies of POST and PATCH /lambda, in JSON or as a multipart form (the original
client uploads `file`), parsed into one `FunctionInput` either way.

FastAPI cannot bind one parameter to two content types, so the routes read the request here
and describe both encodings in OpenAPI through `openapi_extra`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from engine.errors import PayloadTooLarge
from engine.validation import FunctionInput

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
BODY_OVERHEAD = 64 * 1024
"""Room for the fields beside the code and for JSON escaping when bounding the body size."""


class FunctionFields(BaseModel):
    """Fields of a create or update; unknown fields are rejected (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(
        default=None, description="The source code (the original field name).", examples=[None]
    )
    code: str | None = Field(default=None, description="The source code (alias of `file`).")
    runtime: str | None = Field(default=None, examples=["node"])
    version: str | None = Field(default=None, examples=["20"])
    handler: str | None = Field(
        default=None, examples=["handler.handler"], description="`file.function`."
    )
    env: dict[str, str] | None = Field(default=None, examples=[{"GREETING": "hi"}])
    memory_mb: int | None = Field(default=None, examples=[128], description="64 to 10240.")
    timeout_ms: int | None = Field(default=None, examples=[3000], description="1 to 900000.")
    concurrency: int | None = Field(default=None, examples=[10], description="1 to 1000.")

    def to_input(self, upload: bytes | None = None) -> FunctionInput:
        given = [c for c in (self.file, self.code, upload) if c is not None]
        if len(given) > 1:
            raise _invalid(["body", "code"], "give the code once: `file` or `code`")
        return FunctionInput(
            name=getattr(self, "name", None),
            code=given[0] if given else None,
            runtime=self.runtime,
            version=self.version,
            handler=self.handler,
            env=self.env,
            memory_mb=self.memory_mb,
            timeout_ms=self.timeout_ms,
            concurrency=self.concurrency,
        )


M = TypeVar("M", bound=FunctionFields)


class CreateBody(FunctionFields):
    name: str = Field(examples=["hello"], description="A DNS label, at most 63 characters.")


class UpdateBody(FunctionFields):
    key: str = Field(description="The function to change.")
    name: str | None = Field(default=None, examples=["hello-v2"])
    base_revision: int | None = Field(
        default=None,
        description="Reject the update with 409 stale_revision unless this is the current one.",
    )


async def read_body(
    request: Request, model: type[M], max_code_bytes: int
) -> tuple[M, bytes | None]:
    """The validated fields, plus the uploaded file's bytes for a multipart request."""
    _check_size(request, max_code_bytes)
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(FORM_TYPES):
            return await _read_form(request, model)
        return model.model_validate_json(await request.body()), None
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        ) from exc


async def _read_form(request: Request, model: type[M]) -> tuple[M, bytes | None]:
    form = await request.form()
    fields: dict[str, Any] = {}
    upload: bytes | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name not in {"file", "code"}:
                raise _invalid(["body", name], "only `file` may be an uploaded file")
            upload = await value.read()
        else:
            fields[name] = value
    if "env" in fields:
        try:
            fields["env"] = json.loads(fields["env"])
        except json.JSONDecodeError as exc:
            raise _invalid(["body", "env"], "env must be a JSON object in a form") from exc
    return model.model_validate(fields), upload


def _check_size(request: Request, max_code_bytes: int) -> None:
    length = request.headers.get("content-length")
    limit = 2 * max_code_bytes + BODY_OVERHEAD
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(
            f"request body is {length} bytes; the limit is {limit}",
            detail={"limit": limit},
        )


def _invalid(loc: list[str], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": tuple(loc), "msg": message, "type": "value_error"}])


def body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing the JSON and the multipart encodings of a body."""
    schema = model.model_json_schema()
    form = {
        "type": "object",
        "properties": {
            **schema["properties"],
            "file": {"type": "string", "format": "binary", "description": "The source file."},
            "env": {"type": "string", "description": "A JSON object, as text."},
        },
        "required": schema.get("required", []),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
            },
        }
    }
