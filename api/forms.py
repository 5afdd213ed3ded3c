"""The multipart form of POST/PATCH /lambda and the strict readings of request text.

Read strictly, so a request means one thing: a form field is text, so a number is its decimal
digits and nothing else; `env`/`secrets` are JSON objects as text, `routes` a JSON array;
`layers` is a JSON array or a comma list; a
name given twice is 422 `duplicate_field`; JSON has one number type, no NaN or Infinity, and no
key twice. A package's fields in a query string are read as form fields are (`form_value`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import cache
from typing import Any, TypeVar, get_args

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from engine import package_files
from engine.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
FORM_MAX_FILES = 1000
"""`file`/`code`, or the `files` parts of a package uploaded file by file."""
FILES_PART = "files"
FORM_MAX_FIELDS = 32
JSON_FORM_FIELDS = frozenset({"env", "secrets", "routes"})
"""Form fields that carry JSON (a form field is text): objects, and the route templates' array
(a template may hold any character but a newline, so no separator would do)."""
FORM_NUMBER_RE = re.compile(r"0|[1-9][0-9]{0,17}")
"""A number in a form: decimal digits, no sign, space, leading zero, point or exponent."""


async def read_form(
    headers: Headers, chunks: AsyncGenerator[bytes], model: type[M], limit: int
) -> tuple[M, bytes | None]:
    """A multipart form read from `chunks` (the body, bounded by the caller); no part can be
    larger than the bounded body, so Starlette's own per-field bound (1 MiB by default, below a
    large `max_code_bytes`) is lifted to it."""
    async with aclosing(chunks):
        parser = MultiPartParser(
            headers,
            chunks,
            max_files=FORM_MAX_FILES,
            max_fields=FORM_MAX_FIELDS,
            max_part_size=limit,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise invalid(["body"], f"malformed multipart form: {exc.message}") from exc
    try:
        return await _form_fields(form, model)
    finally:
        await form.close()


async def _form_fields(form: FormData, model: type[M]) -> tuple[M, bytes | None]:
    items = form.multi_items()
    names = Counter(name for name, _ in items if name != FILES_PART)
    twice = [name for name, count in names.items() if count > 1]
    if twice:
        raise duplicate(twice[0])
    fields: dict[str, Any] = {}
    upload: bytes | None = None
    parts: list[tuple[str, bytes]] = []
    for name, value in items:
        if isinstance(value, UploadFile) and name == FILES_PART:
            parts.append((value.filename or "", await value.read()))
        elif isinstance(value, UploadFile):
            if name not in {"file", "code"}:
                raise invalid(["body", name], "only `file` or `files` may be uploaded files")
            if upload is not None:  # `file` and `code` both uploaded
                why = "give the code once: as `file` or as `code`"
                raise InvalidInput(why, field="code", code="conflicting_fields")
            upload = await value.read()
        elif name == FILES_PART:
            raise invalid(["body", name], "each `files` part is a file named by its path")
        else:
            fields[name] = form_value(model, name, value)
    if parts and upload is not None:
        why = "give the code once: as `file`, `code` or `files`"
        raise InvalidInput(why, field="code", code="conflicting_fields")
    if parts:  # zipped off the loop, then read as any package
        upload = await asyncio.to_thread(package_files.archive_of, parts)
    return model.model_validate(fields), upload


def form_value(model: type[BaseModel], name: str, text: str) -> object:
    if name == "layers" and not text.lstrip().startswith("["):
        return [part.strip() for part in text.split(",") if part.strip()]
    if name in JSON_FORM_FIELDS or name == "layers":
        return _form_json(name, text)
    if name in _number_fields(model):
        return _form_number(name, text)
    return text


@cache
def _number_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name for name, field in model.model_fields.items() if int in get_args(field.annotation)
    )


def _form_number(name: str, text: str) -> int:
    if not FORM_NUMBER_RE.fullmatch(text):
        raise invalid(["body", name], "a number in a form is written in decimal digits only")
    return int(text)


def _form_json(name: str, text: str) -> object:
    try:
        return json_object(text.encode())
    except RequestValidationError as exc:
        raise invalid(["body", name], f"{name} must be JSON in a form") from exc


def json_object(raw: bytes) -> object:
    """JSON as the standard says it, once: one number type (`128.0` is the integer 128, as
    JSON Schema has it; `1.5` is not), no NaN or Infinity, and a key given twice is refused
    (parsers disagree on which one wins)."""
    try:
        return json.loads(
            raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_number
        )
    except (ValueError, RecursionError) as exc:
        raise invalid(["body"], f"invalid JSON: {exc}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        counts = Counter(name for name, _ in pairs)
        raise duplicate(next(name for name, n in counts.items() if n > 1))
    return found


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def duplicate(name: str) -> InvalidInput:
    return InvalidInput(f"{name!r} is given twice", field=name, code="duplicate_field")


def invalid(loc: list[str], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": tuple(loc), "msg": message, "type": "value_error"}])
