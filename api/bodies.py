"""Request bodies of POST and PATCH /lambda, in JSON or as a multipart form (the original
client uploads `file`), parsed into the same settings changes either way.

JSON must say so (`Content-Type: application/json`): `text/plain` and url-encoded forms, which
a page of another site can send without asking first, are refused with 415, never parsed
(multipart stays, for the original client: api/guard.py refuses it cross-site). Bodies
are read as a stream and refused past `body_limit` (twice `max_code_bytes` plus 64 KiB), so an
endless chunked body costs no more than the limit.

Both encodings are read strictly, so a request means one thing: no coercion (`"128"` or `true`
is not a number; in a form, a number is its decimal digits and nothing else), a name given
twice (a JSON key, a form part) is 422 `duplicate_field`, and the code given both as `file`
and as `code` is 422 `conflicting_fields`.

A function package (a zip archive, `engine.package`) is sent as the body itself,
`Content-Type: application/zip`, with the other fields in the query string (read like form
fields; the route's own query parameters, such as `wait`, stay the route's). Its bound is the
package's (50 MB zipped, 413 `package_too_large`), not the code's. A small zip uploaded as the
multipart `file` is a package too, and so are several `files` parts, each named by its
relative path (`engine.package_files` zips them; the form's bound applies).

FastAPI cannot bind one parameter to two content types, so the routes read the request here
and describe both encodings in OpenAPI through `openapi_extra`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.forms import (
    JSON_FORM_FIELDS,
    duplicate,
    form_value,
    invalid,
    json_object,
    read_form,
)
from engine import package
from engine.catalog import DEFAULT_RUNTIME
from engine.errors import (
    InvalidInput,
    LambdaCloneError,
    PackageRefused,
    PackageTooLarge,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from engine.spec import FunctionConfig
from engine.validation import LIMIT_RANGES, Changes

JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
BODY_OVERHEAD = 64 * 1024
"""Room for the fields beside the code when bounding the body size."""


def _range(name: str) -> dict[str, Any]:
    """A limit's range, documented (the rule itself answers 422 `invalid_limit`)."""
    low, high = LIMIT_RANGES[name]
    return {"minimum": low, "maximum": high}


class FunctionFields(BaseModel):
    """Fields of a create or update; unknown fields are rejected (they are usually typos).
    The settings among them carry `FunctionConfig`'s flat names (`version`, `memory_mb`), so
    `changes` maps them without naming any."""

    model_config = ConfigDict(extra="forbid", strict=True)

    file: str | None = Field(
        default=None, description="The source code (the original field name).", examples=[None]
    )
    code: str | None = Field(default=None, description="The source code (alias of `file`).")
    runtime: str | None = Field(default=None, examples=[DEFAULT_RUNTIME[0]])
    version: str | None = Field(default=None, examples=[DEFAULT_RUNTIME[1]])
    handler: str | None = Field(
        default=None, examples=["handler.handler"], description="`file.function`."
    )
    env: dict[str, str] | None = Field(default=None, examples=[{"GREETING": "hi"}])
    memory_mb: int | None = Field(
        default=None, examples=[128], json_schema_extra=_range("memory_mb")
    )
    timeout_ms: int | None = Field(
        default=None, examples=[3000], json_schema_extra=_range("timeout_ms")
    )
    concurrency: int | None = Field(
        default=None, examples=[10], json_schema_extra=_range("concurrency")
    )
    title: str | None = Field(
        default=None, examples=["Hello, world"], description="Free text shown for it."
    )
    convention: str | None = Field(
        default=None,
        examples=["auto"],
        description="How the handler is called: auto (detected), original, lambda, kubeless "
        "(those the runtime has).",
    )
    secrets: dict[str, str | None] | None = Field(
        default=None,
        examples=[{"DB_PASSWORD": "s3cr3t"}],
        description="Secret variables: write-only (answers show a fingerprint), encrypted at "
        "rest. In an update, names not given are kept; null removes one.",
    )
    auth: str | None = Field(
        default=None,
        examples=["none"],
        description="Invoking needs a token (`token`: an invoker, developer or admin token "
        "allowed for the function) or not (`none`, the default).",
    )

    layers: list[str] | None = Field(
        default=None,
        examples=[["shared-utils:1"]],
        description="Layer versions (`name:version`, at most 5), extracted in this order into "
        "/opt (a later one's file wins); `[]` detaches all. In a form or a zip's query string: "
        "a JSON array, or the references comma-separated.",
    )

    event_format: str | None = Field(
        default=None,
        examples=["2.0"],
        description="The Lambda convention's event: `2.0` (HTTP API / Function URL, the "
        "default) or `1.0` (REST API proxy).",
    )
    routes: list[str] | None = Field(
        default=None,
        examples=[["GET /items/{id}", "ANY /files/{proxy+}"]],
        description="Route templates in order, the first match giving `routeKey`/`resource` "
        "and `pathParameters`; a path none matches is answered 404. Empty: `$default`. In a "
        "form or a zip's query string: a JSON array.",
    )

    def changes(self) -> Changes:
        """The settings this body gives (absent and null ones are "not given")."""
        names = FunctionConfig.flat_names()
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k in names}

    def code_given(self, upload: bytes | None = None) -> str | bytes | None:
        given = [c for c in (self.file, self.code, upload) if c is not None]
        if len(given) > 1:
            why = "give the code once: as `file` or as `code`"
            raise InvalidInput(why, field="code", code="conflicting_fields")
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
    media_type = _media_type(request.headers.get("content-type", ""))
    accepted = [JSON_TYPE, MULTIPART_TYPE, *ZIP_TYPES]
    if media_type not in accepted:
        raise UnsupportedMediaType(
            f"send the body as {JSON_TYPE}, {MULTIPART_TYPE} or {ZIP_TYPES[0]}, not "
            f"{media_type or 'untyped'}",
            detail={"content_type": media_type, "accepted": accepted},
        )
    limit = package.Limits().zipped_bytes if media_type in ZIP_TYPES else body_limit(max_code_bytes)
    _check_size(request, limit, media_type in ZIP_TYPES)
    try:
        if media_type in ZIP_TYPES:
            return _query_fields(request, model), await _read_package(request, limit)
        if media_type == MULTIPART_TYPE:
            return await read_form(request.headers, _bounded(request, limit), model, limit)
        return model.model_validate(json_object(await _read_all(request, limit))), None
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        ) from exc


def body_limit(max_code_bytes: int) -> int:
    """The largest body read: the code twice over (JSON escaping) plus room for the rest."""
    return 2 * max_code_bytes + BODY_OVERHEAD


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


async def _bounded(request: Request, limit: int, is_package: bool = False) -> AsyncGenerator[bytes]:
    """The body's chunks as they arrive, until they add up to more than `limit`."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit}", limit, is_package)
        yield chunk


async def _read_all(request: Request, limit: int, is_package: bool = False) -> bytes:
    return b"".join([chunk async for chunk in _bounded(request, limit, is_package)])


async def _read_package(request: Request, limit: int) -> bytes:
    """The zip body; read whole (at most the package limit), unpacked later, by the rules."""
    raw = await _read_all(request, limit, is_package=True)
    if not package.is_archive(raw):
        raise PackageRefused("the body is not a zip archive", code="invalid_package")
    return raw


def _query_fields(request: Request, model: type[M]) -> M:
    """A package's fields, from the query string: each once, read as form fields are."""
    own = _route_query_names(request)
    items = [(n, v) for n, v in request.query_params.multi_items() if n not in own]
    twice = [name for name, count in Counter(name for name, _ in items).items() if count > 1]
    if twice:
        raise duplicate(twice[0])
    fields: dict[str, Any] = {}
    for name, value in items:
        if name in {"file", "code"}:
            raise invalid(["query", name], "the body is the code: do not also give `file`")
        fields[name] = form_value(model, name, value)
    return model.model_validate(fields)


def _route_query_names(request: Request) -> frozenset[str]:
    """The query parameters the route itself declares (`wait`, `preview`…)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    params = getattr(dependant, "query_params", ()) if dependant is not None else ()
    return frozenset(str(getattr(p, "alias", "") or getattr(p, "name", "")) for p in params)


def _check_size(request: Request, limit: int, is_package: bool = False) -> None:
    """Refuse a declared length over the limit before reading anything."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise _too_large(length, limit, is_package)


def _too_large(size: str, limit: int, is_package: bool = False) -> LambdaCloneError:
    if is_package:
        why = f"the package is {size} bytes zipped; the limit is {limit}"
        return PackageTooLarge(why, limit=limit)
    return PayloadTooLarge(
        f"request body is {size} bytes; the limit is {limit}", detail={"limit": limit}
    )


def body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing the JSON and the multipart encodings of a body."""
    schema = model.model_json_schema()
    form = {
        "type": "object",
        "properties": {
            **schema["properties"],
            "file": {"type": "string", "format": "binary", "description": "The source file."},
            **{
                name: {"type": "string", "description": "A JSON object, as text."}
                for name in sorted(JSON_FORM_FIELDS)
            },
        },
        "required": schema.get("required", []),
        "additionalProperties": False,
    }
    archive = {
        "type": "string",
        "format": "binary",
        "description": "A function package (zip, Lambda's layout; at most 50 MB zipped, 250 MB "
        "unpacked); the other fields go in the query string.",
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
                ZIP_TYPES[0]: {"schema": archive},
            },
        }
    }
