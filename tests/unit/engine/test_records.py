from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.records import (
    ErrorInfo,
    Operation,
    Status,
    set_condition,
    status_failed,
    status_queued,
    status_started,
    status_succeeded,
    utcnow,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(seconds=5)


def op(kind: str = "update", generation: int = 2) -> Operation:
    return Operation("op", "key", kind, 2, generation, T0)  # type: ignore[arg-type]


def test_utcnow_has_millisecond_precision() -> None:
    assert utcnow().microsecond % 1000 == 0


def test_condition_transition_time_moves_only_on_change() -> None:
    first = set_condition((), "Ready", "True", "Ready", "", T0)
    same = set_condition(first, "Ready", "True", "Ready", "again", T1)
    changed = set_condition(same, "Ready", "False", "Failed", "", T1)
    assert same[0].last_transition == T0 and same[0].message == "again"
    assert changed[0].last_transition == T1 and len(changed) == 1


def test_an_update_goes_pending_deploying_ready() -> None:
    status = Status(generation=1, observed_generation=1, phase="Ready")
    queued = status_queued(status, 2, "op", T0, deleting=False)
    assert (queued.generation, queued.phase, queued.operation_id) == (2, "Pending", "op")
    started = status_started(queued, op(), T0)
    assert started.phase == "Deploying"
    done = status_succeeded(started, op(), T1)
    assert (done.phase, done.observed_generation, done.last_error) == ("Ready", 2, None)
    ready = {c.type: c for c in done.conditions}
    assert ready["Ready"].status == "True" and ready["Progressing"].status == "False"


def test_an_older_operation_finishing_leaves_the_newer_pending() -> None:
    status = Status(generation=3, observed_generation=1, phase="Deploying")
    done = status_succeeded(status, op(generation=2), T1)
    assert (done.phase, done.observed_generation) == ("Deploying", 2)


def test_failure_and_delete() -> None:
    error = ErrorInfo("target_error", "no")
    failed = status_failed(Status(generation=2, observed_generation=1), op(), error, T1)
    assert failed.phase == "Failed" and failed.last_error == error
    deleting = status_queued(failed, 3, "del", T1, deleting=True)
    assert deleting.phase == "Deleting"
    assert status_started(deleting, op("delete", 3), T1).phase == "Deleting"
    assert status_succeeded(deleting, op("delete", 3), T1).phase == "Deleted"
