"""Response models of the /lambda API, with examples, built from the engine's records (the
catalog's are in api/catalog_schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from engine.catalog import DEFAULT_RUNTIME, image_for
from engine.formats import endpoint_url
from engine.plan import Plan
from engine.records import (
    ErrorInfo,
    FunctionRecord,
    Operation,
    OperationKind,
    OperationState,
    Phase,
    Revision,
    SpecRef,
)
from engine.spec import flatten

KEY_EXAMPLE = "k7q2m4xw3bq5hzt6n2ry4dcu5e"
OP_EXAMPLE = "p3vq7m2xw4bq5hzt6n2ry4dcu5"
WHEN = "2025-01-01T12:00:00Z"


class ErrorBody(BaseModel):
    code: str = Field(examples=["function_not_found"], description="Stable, machine-readable.")
    message: str = Field(examples=["no function with key 'k7q2m4xw3bq5hzt6n2ry4dcu5e'"])
    detail: dict[str, Any] = Field(default_factory=dict, examples=[{"key": KEY_EXAMPLE}])

    @classmethod
    def of(cls, error: ErrorInfo) -> ErrorBody:
        return cls(code=error.code, message=error.message, detail=error.detail)


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorBody


class CodeOut(BaseModel):
    sha256: str = Field(
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
    )
    size: int = Field(examples=[312], description="Bytes of UTF-8 source.")
    location: str = Field(examples=["mongo://lambda.code/9f86d081884c7d65..."])


class ConditionOut(BaseModel):
    type: str = Field(examples=["Ready"])
    status: str = Field(examples=["True"])
    reason: str = Field(examples=["Ready"])
    message: str
    last_transition: datetime


class StatusOut(BaseModel):
    generation: int = Field(examples=[2], description="Counts changes of the desired state.")
    observed_generation: int = Field(examples=[2], description="Last generation applied.")
    phase: Phase = Field(examples=["Ready"])
    last_error: ErrorBody | None = None
    conditions: list[ConditionOut] = Field(default_factory=list)
    operation_id: str | None = Field(default=None, examples=[OP_EXAMPLE])


class SettingsOut(BaseModel):
    """The settings shared by a function and each of its revisions."""

    name: str = Field(examples=["hello"])
    runtime: str = Field(examples=[DEFAULT_RUNTIME[0]])
    version: str = Field(examples=[DEFAULT_RUNTIME[1]])
    handler: str = Field(examples=["handler.handler"])
    image: str = Field(examples=[image_for(*DEFAULT_RUNTIME)])
    env: dict[str, str] = Field(default_factory=dict, examples=[{"GREETING": "hi"}])
    memory_mb: int = Field(examples=[128])
    timeout_ms: int = Field(examples=[3000])
    concurrency: int = Field(examples=[10])
    title: str = Field(examples=["Hello, world"], description="Free text; empty: none.")
    convention: str = Field(examples=["auto"])
    auth: str = Field(examples=["none"], description="`none` or `token` (invoking needs one).")
    event_format: str = Field(
        default="2.0", examples=["2.0"], description="Lambda convention: `2.0` or `1.0` (REST)."
    )
    routes: list[str] = Field(
        default_factory=list,
        examples=[["GET /items/{id}"]],
        description="Route templates, in order; none: every request is `$default`.",
    )
    layers: list[str] = Field(
        default_factory=list,
        examples=[["shared-utils:1"]],
        description="Layer versions (`name:version`), in the order they are extracted into /opt.",
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        examples=[{"DB_PASSWORD": "c14688783c06ddb2"}],
        description="Secret variables by name, each with a fingerprint (never the value).",
    )
    code: CodeOut
    spec_hash: str = Field(description="Equal hashes mean equal deployments.")

    @staticmethod
    def fields_of(spec: SpecRef) -> dict[str, Any]:
        """The settings in the API's flat shape (from the spec codec), plus what the store
        adds: the image, the code reference and the hash."""
        return {
            **flatten(spec.config.identity_data()),
            "image": spec.image,
            "code": CodeOut(**vars(spec.code)),
            "spec_hash": spec.spec_hash,
        }


class FunctionOut(SettingsOut):
    key: str = Field(examples=[KEY_EXAMPLE], description="Opaque, stable, unguessable.")
    endpoint: str = Field(examples=[f"http://127.0.0.1:8000/endpoint/{KEY_EXAMPLE}"])
    revision: int = Field(examples=[2])
    disabled: bool = Field(examples=[False], description="True once deleted.")
    reg_date: datetime
    update_date: datetime
    status: StatusOut
    file: str | None = Field(
        default=None, description="The source code; only in GET /lambda (omit with code=false)."
    )

    @classmethod
    def of(
        cls, record: FunctionRecord, endpoint_base: str, source: str | None = None
    ) -> FunctionOut:
        status = record.status
        return cls(
            **cls.fields_of(record.spec),
            key=record.key,
            endpoint=endpoint_url(endpoint_base, record.key),
            revision=record.revision,
            disabled=record.disabled,
            reg_date=record.reg_date,
            update_date=record.update_date,
            file=source,
            status=StatusOut(
                generation=status.generation,
                observed_generation=status.observed_generation,
                phase=status.phase,
                last_error=ErrorBody.of(status.last_error) if status.last_error else None,
                conditions=[ConditionOut(**vars(c)) for c in status.conditions],
                operation_id=status.operation_id,
            ),
        )


class FunctionPage(BaseModel):
    items: list[FunctionOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class RevisionOut(SettingsOut):
    key: str = Field(examples=[KEY_EXAMPLE])
    revision: int = Field(examples=[1])
    created: datetime

    @classmethod
    def of(cls, revision: Revision) -> RevisionOut:
        return cls(
            **cls.fields_of(revision.spec),
            key=revision.key,
            revision=revision.revision,
            created=revision.created,
        )


class RevisionPage(BaseModel):
    items: list[RevisionOut]
    next_cursor: str | None = None


class ProgressOut(BaseModel):
    at: datetime
    message: str = Field(examples=["worker started on port 41234"])


class OperationOut(BaseModel):
    id: str = Field(examples=[OP_EXAMPLE])
    key: str = Field(examples=[KEY_EXAMPLE], description="The function's key.")
    kind: OperationKind = Field(examples=["create"])
    state: OperationState = Field(examples=["succeeded"])
    revision: int = Field(examples=[1], description="The revision it applies.")
    generation: int = Field(examples=[1])
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    attempts: int = Field(examples=[1], description="More than 1 after a resumed crash.")
    error: ErrorBody | None = None
    progress: list[ProgressOut] = Field(default_factory=list)
    url: str = Field(examples=[f"/lambda/operations/{OP_EXAMPLE}"], description="Poll here.")

    @classmethod
    def of(cls, op: Operation) -> OperationOut:
        return cls(
            id=op.id,
            key=op.key,
            kind=op.kind,
            state=op.state,
            revision=op.revision,
            generation=op.generation,
            created=op.created,
            started=op.started,
            finished=op.finished,
            attempts=op.attempts,
            error=ErrorBody.of(op.error) if op.error else None,
            progress=[ProgressOut(at=p.at, message=p.message) for p in op.progress],
            url=operation_url(op.id),
        )


def operation_url(operation_id: str) -> str:
    return f"/lambda/operations/{operation_id}"


class OperationPage(BaseModel):
    items: list[OperationOut]


class MutationOut(BaseModel):
    """The answer to a create, update or delete."""

    function: FunctionOut
    operation: OperationOut | None = Field(
        description="The queued work; null when nothing had to change."
    )
    changed: bool = Field(
        examples=[True], description="False: the request changed nothing and queued no work."
    )


class FieldChangeOut(BaseModel):
    path: str = Field(examples=["code_sha256"])
    old: Any = None
    new: Any = None


class ResourceChangeOut(BaseModel):
    name: str = Field(examples=["deployment"])
    type: str = Field(examples=["kubernetes:apps/v1:Deployment"])
    op: str = Field(examples=["update"])
    fields: list[FieldChangeOut] = Field(default_factory=list)


class PlanOut(BaseModel):
    """A preview (`PATCH /lambda?preview=true`): nothing was changed."""

    changed: bool
    fields: list[FieldChangeOut]
    resources: list[ResourceChangeOut]
    summary: dict[str, int] = Field(examples=[{"update": 1, "same": 2}])

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(
            changed=plan.changed,
            fields=[FieldChangeOut(path=f.path, old=f.old, new=f.new) for f in plan.fields],
            resources=[
                ResourceChangeOut(
                    name=r.name,
                    type=r.type,
                    op=r.op,
                    fields=[FieldChangeOut(path=f.path, old=f.old, new=f.new) for f in r.fields],
                )
                for r in plan.resources
            ],
            summary=plan.summary(),
        )


OPERATION_EVENTS_EXAMPLE = f"""\
event: progress
data: {{"at":"2025-01-01T12:00:00Z","message":"create started (attempt 1)"}}
id: 0

event: progress
data: {{"at":"2025-01-01T12:00:01Z","message":"worker started on port 41234"}}
id: 1

: keep-alive

event: done
data: {{"id":"{OP_EXAMPLE}","key":"{KEY_EXAMPLE}","kind":"create","state":"succeeded",\
"revision":1,"generation":1,"created":"{WHEN}","started":"{WHEN}",\
"finished":"2025-01-01T12:00:02Z","attempts":1,"error":null,"progress":[…],\
"url":"/lambda/operations/{OP_EXAMPLE}"}}

"""
"""The stream of `GET /lambda/operations/{id}/events` (OpenAPI example)."""
