"""What the use cases need from storage, as Protocols: one repository per collection and the
code store, bundled in a `Store`. `engine.store.mongo` implements them on MongoDB (FerretDB in
the embedded set-up), `engine.store.memory` in memory for fast tests.

Writes never span documents atomically (FerretDB has no multi-document transactions), so the
function service orders every multi-step change (see `engine.service`) and each write is
idempotent or a compare-and-set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.access import TokenRecord
from engine.audit import AuditEntry
from engine.catalog import CatalogRecord, DefaultChoice, RuntimeEntry
from engine.records import (
    ErrorInfo,
    FunctionRecord,
    FunctionStatus,
    Operation,
    OperationState,
    ProgressLine,
    Revision,
    SpecRef,
)
from engine.store.layer_ports import LayerRepo

IsReferenced = Callable[[str, str], Awaitable[bool]]
"""(function key, sha256) → does any revision still point at this blob?"""


@dataclass(frozen=True)
class FunctionQuery:
    """A page of live functions, oldest first, after the position `after` (reg_date, key)."""

    limit: int
    name_prefix: str | None = None
    runtime: str | None = None
    phase: str | None = None
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class SeedResult:
    inserted: int
    updated: int


@dataclass(frozen=True)
class IdempotencyClaim:
    """`Idempotency-Key` → the create it started: same key, same request → same answer."""

    idempotency_key: str
    request_hash: str
    key: str
    operation_id: str
    created: datetime


class FunctionRepo(Protocol):
    async def insert(self, record: FunctionRecord) -> bool:
        """False when a function with this key exists (a retried create)."""
        ...

    async def get(self, key: str) -> FunctionRecord | None: ...

    async def page(self, query: FunctionQuery) -> list[FunctionRecord]: ...

    async def commit_revision(
        self, key: str, base_revision: int, spec: SpecRef, status: FunctionStatus, now: datetime
    ) -> bool:
        """Point the function at revision `base_revision + 1`, only if it is still at
        `base_revision` and not deleted (a compare-and-set: a lost race changes nothing)."""
        ...

    async def set_status(
        self, key: str, status: FunctionStatus, now: datetime, *, disabled: bool | None = None
    ) -> None: ...

    async def unsettled(self) -> list[FunctionRecord]:
        """Live functions whose desired generation the target has not finished."""
        ...

    async def revisions_of_all(self) -> dict[str, int]:
        """key → current revision of every function, deleted ones included (for the sweep)."""
        ...


class RevisionRepo(Protocol):
    async def insert(self, revision: Revision) -> bool:
        """False when this (key, revision) already exists."""
        ...

    async def replace(self, revision: Revision) -> None:
        """Overwrite this (key, revision): only for an orphan, under the function's lock."""
        ...

    async def get(self, key: str, revision: int) -> Revision | None: ...

    async def page(self, key: str, limit: int, before: int | None) -> list[Revision]:
        """Newest first, below `before` when given."""
        ...

    async def delete(self, key: str, revision: int) -> None: ...

    async def references(self, key: str, sha256: str) -> bool: ...

    async def delete_orphans(self, current: dict[str, int], older_than: datetime) -> int:
        """Delete revisions written before `older_than` that no function reaches."""
        ...


class OperationRepo(Protocol):
    async def insert(self, op: Operation) -> bool:
        """False when the operation exists already (a retried create re-uses its id)."""
        ...

    async def get(self, operation_id: str) -> Operation | None: ...

    async def for_key(self, key: str, limit: int) -> list[Operation]:
        """Newest first."""
        ...

    async def live(self, key: str | None = None) -> list[Operation]:
        """Queued or running operations, oldest first (the order they must run in)."""
        ...

    async def start(self, operation_id: str, now: datetime, note: str) -> Operation | None:
        """queued/running → running, counting the attempt; None if it already finished."""
        ...

    async def append(self, operation_id: str, line: ProgressLine) -> None: ...

    async def finish(
        self, operation_id: str, state: OperationState, error: ErrorInfo | None, now: datetime
    ) -> Operation | None: ...


class IdempotencyRepo(Protocol):
    async def claim(self, claim: IdempotencyClaim) -> IdempotencyClaim:
        """Record `claim` unless its idempotency key is taken; the claim in force."""
        ...


class CatalogRepo(Protocol):
    async def is_empty(self) -> bool: ...

    async def runtimes(self, *, include_disabled: bool = False) -> list[CatalogRecord]:
        """By runtime, then version."""
        ...

    async def default(self) -> DefaultChoice | None: ...

    async def seed(self, entries: Sequence[RuntimeEntry], default: tuple[str, str]) -> SeedResult:
        """Upsert each entry by runtime+version; unchanged entries are not touched and an
        operator's `disabled` flag is kept; the default is only set when missing."""
        ...


class TokenRepo(Protocol):
    async def insert(self, token: TokenRecord) -> bool:
        """False when a token with this id or secret hash exists."""
        ...

    async def all(self) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        ...

    async def get(self, token_id: str) -> TokenRecord | None: ...

    async def revoke(self, token_id: str, now: datetime) -> TokenRecord | None:
        """Mark it revoked (once); None when there is no such token."""
        ...

    async def touch(self, token_id: str, when: datetime) -> None:
        """Record its last use."""
        ...


class AuditRepo(Protocol):
    async def insert(self, entry: AuditEntry) -> None: ...

    async def page(self, limit: int, before: datetime | None) -> list[AuditEntry]:
        """Newest first, older than `before` when given."""
        ...


class CodeStore(Protocol):
    async def prepare(self) -> None:
        """Whatever must exist before the first write (a bucket); idempotent."""
        ...

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        """Store `code` for function `key`; returns its location. Safe to repeat, and to run
        concurrently with the same content."""
        ...

    async def get(self, location: str) -> str: ...

    async def delete(self, key: str) -> None:
        """Forget every blob of function `key` (shared blobs stay for their other users)."""
        ...

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        """Remove blobs written before `older_than` that no revision references."""
        ...


class Store(Protocol):
    """Everything the control plane keeps, behind one object the composition root opens."""

    @property
    def functions(self) -> FunctionRepo: ...

    @property
    def revisions(self) -> RevisionRepo: ...

    @property
    def operations(self) -> OperationRepo: ...

    @property
    def idempotency(self) -> IdempotencyRepo: ...

    @property
    def catalog(self) -> CatalogRepo: ...

    @property
    def code(self) -> CodeStore: ...

    @property
    def tokens(self) -> TokenRepo: ...

    @property
    def audit(self) -> AuditRepo: ...

    @property
    def layers(self) -> LayerRepo: ...

    async def prepare(self) -> None:
        """Indexes, buckets: whatever must exist before the first request (idempotent)."""
        ...

    async def close(self) -> None: ...
