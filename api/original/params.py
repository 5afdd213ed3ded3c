"""The original's query parameters and names, read as it read them (its messages kept)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from engine.errors import InvalidInput
from engine.records import FunctionRecord
from engine.validation import NAME_MAX

DEFAULT_LIMIT = 30
MAX_LIMIT = 1000
DEFAULT_SORT = "reg_date"
FALLBACK_NAME = "function"
"""The name of a function whose title has no ASCII letter or digit (names need not be
unique; the key identifies the function)."""
INVALID_FORMAT = "lambda is not a valid format"


def name_from_title(title: str) -> str:
    """A DNS label for a free-text title: ASCII-folded, lowercase, runs of anything else as
    one `-`, at most 63 characters (`My API v2!` → `my-api-v2`, `Café` → `cafe`)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:NAME_MAX].rstrip("-")
    return slug or FALLBACK_NAME


SORT_KEYS: dict[str, Callable[[FunctionRecord], tuple[Any, ...]]] = {
    "reg_date": lambda r: (r.reg_date, r.key),
    "update_date": lambda r: (r.update_date, r.key),
    "title": lambda r: (r.spec.config.title or r.spec.config.name, r.key),
    "runtime": lambda r: (r.spec.config.runtime, r.key),
    "version": lambda r: (r.spec.config.runtime_version, r.key),
    "id": lambda r: (r.key,),
    "_id": lambda r: (r.reg_date, r.key),  # an ObjectId sorts by creation time
    "disabled": lambda r: (r.disabled, r.key),
}
"""The fields of the original's documents it could sort by (it passed `sort` to MongoDB)."""


def limit_of(raw: str) -> int:
    value = _integer(raw, DEFAULT_LIMIT, "limit")
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"parameter limit must be 1 to {MAX_LIMIT}", field="limit")
    return value


def page_of(raw: str) -> int:
    value = _integer(raw, 1, "page")
    if value <= 0:
        raise InvalidInput("parameter page must be > 0", field="page")
    return value


def _integer(raw: str, default: int, field: str) -> int:
    if raw == "":
        return default
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", raw):
        raise InvalidInput(f"parameter {field} must be an integer", field=field)
    return int(raw)


def sort_key_of(raw: str) -> Callable[[FunctionRecord], tuple[Any, ...]]:
    name = raw or DEFAULT_SORT
    if name not in SORT_KEYS:
        raise InvalidInput(f"parameter sort must be one of {', '.join(SORT_KEYS)}", field="sort")
    return SORT_KEYS[name]


def ascending_of(raw: str) -> bool:
    if raw not in {"", "true", "false"}:
        raise InvalidInput("parameter asc must be true or false or not set", field="asc")
    return raw == "true"


def required_id(raw: str) -> str:
    if not raw:
        raise InvalidInput("invalid parameter id", field="id")
    return raw


def required(*values: str | None) -> tuple[str, ...]:
    """The values, when none is blank (the original refused blank fields with this message)."""
    if any(not (v or "").strip() for v in values):
        raise InvalidInput(INVALID_FORMAT, code="invalid_format")
    return tuple(v or "" for v in values)
