"""Request bodies of POST and PATCH /lambda, in JSON or as a multipart form (the original
client uploads `file`), parsed into the same settings changes either way.

JSON must say so (`Content-Type: application/json`): `text/plain` and url-encoded forms, which
a page of another site can send without asking first, are refused with 415, never parsed
(multipart stays, for the original client: api/guard.py refuses it cross-site). Bodies
are read as a stream and refused past `body_limit` (twice `max_code_bytes` plus 64 KiB), so an
endless chunked body costs no more than the limit.

FastAPI cannot bind one parameter to two content types, so the routes read the request here
and describe both encodings in OpenAPI through `openapi_extra`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from engine.errors import PayloadTooLarge, UnsupportedMediaType
from engine.spec import FunctionConfig
from engine.validation import Changes

JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
BODY_OVERHEAD = 64 * 1024
"""Room for the fields beside the code when bounding the body size."""
FORM_MAX_FILES = 2
FORM_MAX_FIELDS = 32


class FunctionFields(BaseModel):
    """Fields of a create or update; unknown fields are rejected (they are usually typos).
    The settings among them carry `FunctionConfig`'s flat names (`version`, `memory_mb`), so
    `changes` maps them without naming any."""

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

    def changes(self) -> Changes:
        """The settings this body gives (absent and null ones are "not given")."""
        names = FunctionConfig.flat_names()
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k in names}

    def code_given(self, upload: bytes | None = None) -> str | bytes | None:
        given = [c for c in (self.file, self.code, upload) if c is not None]
        if len(given) > 1:
            raise _invalid(["body", "code"], "give the code once: `file` or `code`")
        return given[0] if given else None


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
    """The validated fields, plus the uploaded file's bytes for a multipart request. The body
    is read as a stream and refused (413 `payload_too_large`) once it passes the limit."""
    limit = body_limit(max_code_bytes)
    _check_size(request, limit)
    media_type = _media_type(request.headers.get("content-type", ""))
    if media_type not in {JSON_TYPE, MULTIPART_TYPE}:
        raise UnsupportedMediaType(
            f"send the body as {JSON_TYPE} or {MULTIPART_TYPE}, not {media_type or 'untyped'}",
            detail={"content_type": media_type, "accepted": [JSON_TYPE, MULTIPART_TYPE]},
        )
    try:
        if media_type == MULTIPART_TYPE:
            return await _read_form(request, model, limit)
        return model.model_validate_json(await _read_all(request, limit)), None
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        ) from exc


def body_limit(max_code_bytes: int) -> int:
    """The largest body read: the code twice over (JSON escaping) plus room for the rest."""
    return 2 * max_code_bytes + BODY_OVERHEAD


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


async def _bounded(request: Request, limit: int) -> AsyncGenerator[bytes]:
    """The body's chunks as they arrive, until they add up to more than `limit`."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit}", limit)
        yield chunk


async def _read_all(request: Request, limit: int) -> bytes:
    return b"".join([chunk async for chunk in _bounded(request, limit)])


async def _read_form(request: Request, model: type[M], limit: int) -> tuple[M, bytes | None]:
    """A multipart form; no part can be larger than the bounded body, so Starlette's own
    per-field bound (1 MiB by default, below a large `max_code_bytes`) is lifted to it."""
    async with aclosing(_bounded(request, limit)) as chunks:
        parser = MultiPartParser(
            request.headers,
            chunks,
            max_files=FORM_MAX_FILES,
            max_fields=FORM_MAX_FIELDS,
            max_part_size=limit,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise _invalid(["body"], f"malformed multipart form: {exc.message}") from exc
    try:
        return await _form_fields(form, model)
    finally:
        await form.close()


async def _form_fields(form: FormData, model: type[M]) -> tuple[M, bytes | None]:
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


def _check_size(request: Request, limit: int) -> None:
    """Refuse a declared length over the limit before reading anything."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise _too_large(length, limit)


def _too_large(size: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is {size} bytes; the limit is {limit}", detail={"limit": limit}
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
