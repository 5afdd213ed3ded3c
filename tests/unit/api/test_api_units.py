"""Pure parts of the API layer: the error table, cursors, body parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.bodies import CreateBody, UpdateBody
from api.errors import status_for
from api.pagination import decode_function_cursor, decode_revision_cursor, encode_cursor
from api.schemas import SettingsOut
from engine import errors as e
from engine.spec import FunctionConfig


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


def test_bodies_map_to_settings_changes_and_code() -> None:
    body = CreateBody(name="f", code="src", memory_mb=256, version="20")
    assert body.changes() == {"name": "f", "memory_mb": 256, "version": "20"}
    assert body.code_given() == "src"
    update = UpdateBody(key="k", base_revision=3)
    assert update.changes() == {} and update.code_given(b"bytes") == b"bytes"
    with pytest.raises(e.InvalidInput) as refused:
        CreateBody(name="f", file="a").code_given(b"b")
    assert refused.value.code == "conflicting_fields"


def test_the_api_schema_covers_every_setting() -> None:
    """A new setting needs its field in the body and in the answer, nothing else."""
    settings = FunctionConfig.flat_names()
    assert settings <= set(CreateBody.model_fields)
    assert settings <= set(SettingsOut.model_fields)
