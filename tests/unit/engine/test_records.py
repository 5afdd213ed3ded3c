from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from engine.records import (
    CodeRef,
    ErrorInfo,
    FunctionRecord,
    FunctionStatus,
    Operation,
    SpecRef,
    needs_retry,
    reconcile_operation,
    set_condition,
    status_failed,
    status_queued,
    status_started,
    status_succeeded,
    utcnow,
)
from tests.fixtures.specs import make_spec

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(seconds=5)
SPEC = SpecRef(make_spec("node").config, "img", "", CodeRef("sha", 1, "x"), "h")


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
    status = FunctionStatus(generation=1, observed_generation=1, phase="Ready")
    queued = status_queued(status, 2, "op", T0, deleting=False)
    assert (queued.generation, queued.phase, queued.operation_id) == (2, "Pending", "op")
    started = status_started(queued, op(), T0)
    assert started.phase == "Deploying"
    done = status_succeeded(started, op(), T1)
    assert (done.phase, done.observed_generation, done.last_error) == ("Ready", 2, None)
    ready = {c.type: c for c in done.conditions}
    assert ready["Ready"].status == "True" and ready["Progressing"].status == "False"


def test_an_older_operation_finishing_leaves_the_newer_pending() -> None:
    status = FunctionStatus(generation=3, observed_generation=1, phase="Deploying")
    done = status_succeeded(status, op(generation=2), T1)
    assert (done.phase, done.observed_generation) == ("Deploying", 2)


def test_failure_and_delete() -> None:
    error = ErrorInfo("target_error", "no")
    failed = status_failed(FunctionStatus(generation=2, observed_generation=1), op(), error, T1)
    assert failed.phase == "Failed" and failed.last_error == error
    deleting = status_queued(failed, 3, "del", T1, deleting=True)
    assert deleting.phase == "Deleting"
    assert status_started(deleting, op("delete", 3), T1).phase == "Deleting"
    assert status_succeeded(deleting, op("delete", 3), T1).phase == "Deleted"


def test_other_work_never_moves_a_deleting_function_back() -> None:
    """An update that started or finished while a delete waits behind it keeps the function
    Deleting: the phase is what refuses further updates."""
    deleting = status_queued(FunctionStatus(2, 1, "Deploying"), 3, "del", T0, deleting=True)
    started = status_started(deleting, op("update", 2), T0)
    assert started.phase == "Deleting" and started.operation_id == "del"
    done = status_succeeded(started, op("update", 2), T1)
    assert (done.phase, done.observed_generation) == ("Deleting", 2)
    failed = status_failed(started, op("update", 2), ErrorInfo("target_error", "no"), T1)
    assert failed.phase == "Deleting"
    assert status_succeeded(done, op("delete", 3), T1).phase == "Deleted"
    deleted = FunctionStatus(3, 3, "Deleted")
    assert status_started(deleted, op("reconcile", 3), T1).phase == "Deleted"
    assert status_succeeded(deleted, op("reconcile", 3), T1).phase == "Deleted"


def test_a_failed_delete_is_failed() -> None:
    deleting = FunctionStatus(3, 2, "Deleting")
    error = ErrorInfo("target_error", "no")
    assert status_failed(deleting, op("delete", 3), error, T1).phase == "Failed"


def test_a_retry_needs_a_failure_or_unfinished_work_and_nothing_live() -> None:
    assert needs_retry(FunctionStatus(2, 1, "Failed"), live=False)
    assert needs_retry(FunctionStatus(1, 1, "Failed"), live=False)
    assert needs_retry(FunctionStatus(2, 1, "Pending"), live=False)
    assert not needs_retry(FunctionStatus(2, 1, "Failed"), live=True)
    assert not needs_retry(FunctionStatus(2, 2, "Ready"), live=False)


def test_a_reconcile_operation_targets_the_current_generation() -> None:
    status = FunctionStatus(generation=2, observed_generation=1, phase="Failed")
    record = FunctionRecord("key", SPEC, 4, T0, T0, status)
    reconcile, queued = reconcile_operation(record, "op", T1)
    assert (reconcile.kind, reconcile.revision, reconcile.generation) == ("reconcile", 4, 2)
    assert (queued.phase, queued.generation, queued.operation_id) == ("Pending", 2, "op")
    deleting = FunctionRecord("key", SPEC, 4, T0, T0, replace(status, phase="Deleting"))
    delete, still = reconcile_operation(deleting, "op", T1)
    assert (delete.kind, still.phase) == ("delete", "Deleting")
