"""What the control plane stores, as frozen values: functions, revisions and operations.

These are the engine's view of the MongoDB documents (the store adapter converts both ways) and
the pure rules for moving a function's status along (`Pending → Deploying → Ready | Failed`,
`Deleting → Deleted`), so the runner and the routes share one definition of each transition.
Once a function is Deleting or Deleted only its delete operation moves its phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from engine.errors import LambdaCloneError
from engine.spec import FunctionConfig, FunctionSpec

Phase = Literal["Pending", "Deploying", "Ready", "Failed", "Deleting", "Deleted"]
OperationKind = Literal["create", "update", "delete", "reconcile"]
OperationState = Literal["queued", "running", "succeeded", "failed"]
ConditionStatus = Literal["True", "False", "Unknown"]
LIVE_STATES: tuple[OperationState, ...] = ("queued", "running")
GONE_PHASES: tuple[Phase, ...] = ("Deleting", "Deleted")


def utcnow() -> datetime:
    """Now, truncated to the millisecond MongoDB keeps, so stored times round-trip exactly
    (pagination cursors compare them)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class CodeRef:
    """Where a revision's source lives: `mongo://lambda.code/<sha>` or `s3://bucket/...`."""

    sha256: str
    size: int
    location: str


@dataclass(frozen=True)
class ErrorInfo:
    """A recorded failure, in the same shape the API returns errors."""

    code: str
    message: str
    detail: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: LambdaCloneError) -> ErrorInfo:
        return cls(exc.code, exc.message, dict(exc.detail))


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str
    last_transition: datetime


@dataclass(frozen=True)
class FunctionStatus:
    """Kubernetes-style status: `generation` counts desired-state changes, `observed_generation`
    is the last one a target finished applying; they differ while work is outstanding."""

    generation: int = 1
    observed_generation: int = 0
    phase: Phase = "Pending"
    last_error: ErrorInfo | None = None
    conditions: tuple[Condition, ...] = ()
    operation_id: str | None = None


@dataclass(frozen=True)
class SpecRef:
    """A `FunctionSpec` as the store keeps it: the code by reference (its text lives in the
    code store), with the spec hash it had."""

    config: FunctionConfig
    image: str
    run_command: str
    code: CodeRef
    spec_hash: str

    @classmethod
    def of(cls, spec: FunctionSpec, code: CodeRef) -> SpecRef:
        return cls(spec.config, spec.image, spec.run_command, code, spec.spec_hash)

    def spec(self, key: str, code: str) -> FunctionSpec:
        """The target's view, given the code text fetched from the code store."""
        return FunctionSpec(key, self.config, code, self.image, self.run_command)


@dataclass(frozen=True)
class FunctionRecord:
    key: str
    spec: SpecRef
    revision: int
    reg_date: datetime
    update_date: datetime
    status: FunctionStatus
    disabled: bool = False


@dataclass(frozen=True)
class Revision:
    """One immutable entry of a function's history."""

    key: str
    revision: int
    spec: SpecRef
    created: datetime


@dataclass(frozen=True)
class ProgressLine:
    at: datetime
    message: str


@dataclass(frozen=True)
class Operation:
    """A durable unit of work on one function; the runner moves it queued → running → done."""

    id: str
    key: str
    kind: OperationKind
    revision: int
    generation: int
    created: datetime
    state: OperationState = "queued"
    started: datetime | None = None
    finished: datetime | None = None
    attempts: int = 0
    error: ErrorInfo | None = None
    progress: tuple[ProgressLine, ...] = ()

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


# --- status transitions ---------------------------------------------------------------------
def set_condition(  # noqa: PLR0917 - a condition is these five values
    conditions: tuple[Condition, ...],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
) -> tuple[Condition, ...]:
    """Replace one condition; `last_transition` moves only when its status changes."""
    old = next((c for c in conditions if c.type == type_), None)
    since = old.last_transition if old and old.status == status else now
    new = Condition(type_, status, reason, message, since)
    return (*(c for c in conditions if c.type != type_), new)


def status_queued(
    status: FunctionStatus, generation: int, operation_id: str, now: datetime, *, deleting: bool
) -> FunctionStatus:
    """A new generation was written and an operation queued for it."""
    phase: Phase = "Deleting" if deleting else "Pending"
    conditions = set_condition(
        status.conditions, "Progressing", "True", "OperationQueued", operation_id, now
    )
    return replace(
        status, generation=generation, phase=phase, operation_id=operation_id, conditions=conditions
    )


def _outlived(status: FunctionStatus, operation: Operation) -> bool:
    """Work other than a delete that a delete has overtaken: its start or end must not move
    the function out of Deleting/Deleted (that would let new updates in)."""
    return operation.kind != "delete" and status.phase in GONE_PHASES


def status_started(status: FunctionStatus, operation: Operation, now: datetime) -> FunctionStatus:
    if _outlived(status, operation):
        return status
    phase: Phase = "Deleting" if operation.kind == "delete" else "Deploying"
    conditions = set_condition(
        status.conditions, "Progressing", "True", "OperationRunning", operation.id, now
    )
    return replace(status, phase=phase, operation_id=operation.id, conditions=conditions)


def status_succeeded(status: FunctionStatus, operation: Operation, now: datetime) -> FunctionStatus:
    """The target finished `operation`; Ready only if no newer generation is waiting."""
    observed = max(status.observed_generation, operation.generation)
    if _outlived(status, operation):
        return replace(status, observed_generation=observed)
    if operation.kind == "delete":
        phase: Phase = "Deleted"
    else:
        phase = "Ready" if observed >= status.generation else "Deploying"
    conditions = set_condition(
        status.conditions, "Progressing", "False", "OperationSucceeded", operation.id, now
    )
    ready: ConditionStatus = "True" if phase == "Ready" else "False"
    conditions = set_condition(conditions, "Ready", ready, phase, f"generation {observed}", now)
    return replace(
        status, observed_generation=observed, phase=phase, last_error=None, conditions=conditions
    )


def status_failed(
    status: FunctionStatus, operation: Operation, error: ErrorInfo, now: datetime
) -> FunctionStatus:
    if _outlived(status, operation):
        return status
    conditions = set_condition(
        status.conditions, "Progressing", "False", "OperationFailed", operation.id, now
    )
    conditions = set_condition(conditions, "Ready", "False", error.code, error.message, now)
    return replace(status, phase="Failed", last_error=error, conditions=conditions)


def needs_retry(status: FunctionStatus, *, live: bool) -> bool:
    """An unchanged update retries the deployment when the last one failed or never finished
    and nothing is queued or running that would finish it."""
    unfinished = status.phase == "Failed" or status.observed_generation < status.generation
    return unfinished and not live


def reconcile_operation(
    record: FunctionRecord, operation_id: str, now: datetime
) -> tuple[Operation, FunctionStatus]:
    """Work that brings the target to the function's current desired state (its revision and
    generation, unchanged): a `delete` for one being deleted, else a `reconcile`."""
    deleting = record.status.phase == "Deleting"
    op = Operation(
        id=operation_id,
        key=record.key,
        kind="delete" if deleting else "reconcile",
        revision=record.revision,
        generation=record.status.generation,
        created=now,
    )
    status = status_queued(
        record.status, record.status.generation, operation_id, now, deleting=deleting
    )
    return op, status
