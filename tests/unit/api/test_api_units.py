"""Pure parts of the API layer: the error table, cursors, body parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.exceptions import RequestValidationError

from api.bodies import CreateBody, UpdateBody
from api.errors import status_for
from api.pagination import decode_function_cursor, decode_revision_cursor, encode_cursor
from engine import errors as e


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (e.InvalidInput("x", code="invalid_name"), 422),
        (e.UnknownRuntime("a", "1"), 422),
        (e.CodeTooLarge(10, 5), 413),
        (e.FunctionNotFound("k"), 404),
        (e.OperationNotFound("o"), 404),
        (e.StaleRevision(1, 2), 409),
        (e.IdempotencyConflict("x"), 409),
        (e.FunctionBusy("x"), 409),
        (e.StoreUnavailable("x"), 503),
        (e.TargetError("x"), 502),
        (e.ToolMissing("x"), 503),
        (e.TooManyRequests("x"), 429),
        (e.FunctionTimedOut("x"), 504),
        (e.LambdaCloneError("x"), 500),
        (e.OperationFailed("op", "target_error", "x", {}), 502),
        (e.OperationFailed("op", "tool_missing", "x", {}), 503),
        (e.OperationFailed("op", "something_new", "x", {}), 502),
    ],
)
def test_error_table(error: e.LambdaCloneError, status: int) -> None:
    assert status_for(error) == status


def test_cursors_round_trip() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert decode_function_cursor(encode_cursor(when.isoformat(), "abc")) == (when, "abc")
    assert decode_revision_cursor(encode_cursor(7)) == 7
    for bad in ["", "!!!", encode_cursor("x"), encode_cursor(True), encode_cursor("no-date", "k")]:
        with pytest.raises(e.InvalidInput) as info:
            decode_function_cursor(bad)
        assert info.value.code == "invalid_cursor"
    with pytest.raises(e.InvalidInput):
        decode_revision_cursor(encode_cursor("7"))


def test_bodies_map_to_input() -> None:
    given = CreateBody(name="f", code="src", memory_mb=256).to_input()
    assert (given.name, given.code, given.memory_mb) == ("f", "src", 256)
    upload = UpdateBody(key="k").to_input(b"bytes")
    assert upload.code == b"bytes" and upload.name is None
    with pytest.raises(RequestValidationError):
        CreateBody(name="f", file="a").to_input(b"b")
