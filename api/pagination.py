"""Opaque page cursors: base64url JSON of the last item's sort position.

Clients must treat a cursor as a token; encoding the position (not an offset) keeps pages
stable while functions are created or deleted between requests.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from engine.errors import InvalidInput


def encode_cursor(*position: str | int) -> str:
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str | int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(position, list) or not all(isinstance(p, str | int) for p in position):
        raise _bad_cursor()
    return position


def decode_function_cursor(cursor: str) -> tuple[datetime, str]:
    position = decode_cursor(cursor)
    if len(position) != 2 or not all(isinstance(p, str) for p in position):
        raise _bad_cursor()
    try:
        return datetime.fromisoformat(str(position[0])), str(position[1])
    except ValueError as exc:
        raise _bad_cursor() from exc


REVISION_CURSOR_MAX = 2**63
"""Revisions are MongoDB 64-bit integers: a larger number cannot even be queried."""


def decode_revision_cursor(cursor: str) -> int:
    position = decode_cursor(cursor)
    if len(position) != 1 or not isinstance(position[0], int) or isinstance(position[0], bool):
        raise _bad_cursor()
    if not 0 <= position[0] < REVISION_CURSOR_MAX:
        raise _bad_cursor()
    return position[0]


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "cursor is not one this API returned", field="cursor", code="invalid_cursor"
    )
