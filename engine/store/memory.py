"""The store in memory: every port of `engine.store.ports` on dicts, with the same ordering,
compare-and-set and idempotency rules as the MongoDB adapters, so the function service and the
operation runner can be tested in milliseconds. The FerretDB tests keep the adapters honest.

Values are frozen, so storing them needs no copies. Nothing here survives the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.access import TokenRecord
from engine.audit import AuditEntry
from engine.catalog import CatalogRecord, DefaultChoice, RuntimeEntry
from engine.errors import CodeNotFound
from engine.records import (
    LIVE_STATES,
    ErrorInfo,
    FunctionRecord,
    FunctionStatus,
    Operation,
    OperationState,
    ProgressLine,
    Revision,
    SpecRef,
    utcnow,
)
from engine.store.layers_memory import MemoryLayerRepo
from engine.store.ports import FunctionQuery, IdempotencyClaim, IsReferenced, SeedResult

MEMORY_PREFIX = "memory://"
UNSETTLED = ("Pending", "Deploying", "Deleting")


class MemoryFunctionRepo:
    def __init__(self) -> None:
        self.records: dict[str, FunctionRecord] = {}

    async def insert(self, record: FunctionRecord) -> bool:
        if record.key in self.records:
            return False
        self.records[record.key] = record
        return True

    async def get(self, key: str) -> FunctionRecord | None:
        return self.records.get(key)

    async def page(self, query: FunctionQuery) -> list[FunctionRecord]:
        found = sorted(
            (r for r in self.records.values() if _matches(r, query)),
            key=lambda r: (r.reg_date, r.key),
        )
        return found[: query.limit]

    async def commit_revision(
        self, key: str, base_revision: int, spec: SpecRef, status: FunctionStatus, now: datetime
    ) -> bool:
        record = self.records.get(key)
        if record is None or record.revision != base_revision or record.disabled:
            return False
        self.records[key] = replace(
            record, spec=spec, revision=base_revision + 1, update_date=now, status=status
        )
        return True

    async def set_status(
        self, key: str, status: FunctionStatus, now: datetime, *, disabled: bool | None = None
    ) -> None:
        record = self.records.get(key)
        if record is not None:
            gone = record.disabled if disabled is None else disabled
            self.records[key] = replace(record, status=status, update_date=now, disabled=gone)

    async def unsettled(self) -> list[FunctionRecord]:
        return [
            r
            for r in self.records.values()
            if not r.disabled
            and r.status.phase in UNSETTLED
            and r.status.generation != r.status.observed_generation
        ]

    async def revisions_of_all(self) -> dict[str, int]:
        return {key: record.revision for key, record in self.records.items()}


def _matches(record: FunctionRecord, query: FunctionQuery) -> bool:
    config = record.spec.config
    return (
        not record.disabled
        and (not query.name_prefix or config.name.startswith(query.name_prefix))
        and (not query.runtime or config.runtime == query.runtime)
        and (not query.phase or record.status.phase == query.phase)
        and (query.after is None or (record.reg_date, record.key) > query.after)
    )


class MemoryRevisionRepo:
    def __init__(self) -> None:
        self.revisions: dict[tuple[str, int], Revision] = {}

    async def insert(self, revision: Revision) -> bool:
        at = (revision.key, revision.revision)
        if at in self.revisions:
            return False
        self.revisions[at] = revision
        return True

    async def replace(self, revision: Revision) -> None:
        self.revisions[(revision.key, revision.revision)] = revision

    async def get(self, key: str, revision: int) -> Revision | None:
        return self.revisions.get((key, revision))

    async def page(self, key: str, limit: int, before: int | None) -> list[Revision]:
        mine = [
            r for (k, n), r in self.revisions.items() if k == key and (before is None or n < before)
        ]
        return sorted(mine, key=lambda r: -r.revision)[:limit]

    async def delete(self, key: str, revision: int) -> None:
        self.revisions.pop((key, revision), None)

    async def references(self, key: str, sha256: str) -> bool:
        return any(
            k == key and r.spec.code.sha256 == sha256 for (k, _), r in self.revisions.items()
        )

    async def delete_orphans(self, current: dict[str, int], older_than: datetime) -> int:
        orphans = [
            at
            for at, r in self.revisions.items()
            if r.created < older_than and r.revision > current.get(r.key, 0)
        ]
        for at in orphans:
            del self.revisions[at]
        return len(orphans)


class MemoryOperationRepo:
    def __init__(self) -> None:
        self.operations: dict[str, Operation] = {}

    async def insert(self, op: Operation) -> bool:
        if op.id in self.operations:
            return False
        self.operations[op.id] = op
        return True

    async def get(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id)

    async def for_key(self, key: str, limit: int) -> list[Operation]:
        mine = [op for op in self.operations.values() if op.key == key]
        return sorted(mine, key=lambda op: op.created, reverse=True)[:limit]

    async def live(self, key: str | None = None) -> list[Operation]:
        found = [
            op
            for op in self.operations.values()
            if op.state in LIVE_STATES and (key is None or op.key == key)
        ]
        return sorted(found, key=lambda op: op.created)

    async def start(self, operation_id: str, now: datetime, note: str) -> Operation | None:
        op = self.operations.get(operation_id)
        if op is None or not op.live:
            return None
        started = replace(
            op,
            state="running",
            started=now,
            attempts=op.attempts + 1,
            progress=(*op.progress, ProgressLine(now, note)),
        )
        self.operations[operation_id] = started
        return started

    async def append(self, operation_id: str, line: ProgressLine) -> None:
        op = self.operations.get(operation_id)
        if op is not None:
            self.operations[operation_id] = replace(op, progress=(*op.progress, line))

    async def finish(
        self, operation_id: str, state: OperationState, error: ErrorInfo | None, now: datetime
    ) -> Operation | None:
        op = self.operations.get(operation_id)
        if op is None:
            return None
        done = replace(op, state=state, finished=now, error=error)
        self.operations[operation_id] = done
        return done


class MemoryIdempotencyRepo:
    def __init__(self) -> None:
        self.claims: dict[str, IdempotencyClaim] = {}

    async def claim(self, claim: IdempotencyClaim) -> IdempotencyClaim:
        return self.claims.setdefault(claim.idempotency_key, claim)


class MemoryCatalogRepo:
    def __init__(self) -> None:
        self.records: dict[str, CatalogRecord] = {}
        self.choice: DefaultChoice | None = None

    async def is_empty(self) -> bool:
        return not self.records

    async def runtimes(self, *, include_disabled: bool = False) -> list[CatalogRecord]:
        found = [r for r in self.records.values() if include_disabled or not r.entry.disabled]
        return sorted(found, key=lambda r: (r.entry.runtime, r.entry.version))

    async def default(self) -> DefaultChoice | None:
        return self.choice

    async def seed(self, entries: Sequence[RuntimeEntry], default: tuple[str, str]) -> SeedResult:
        inserted = updated = 0
        now = utcnow()
        for entry in entries:
            old = self.records.get(entry.id)
            if old is None:
                self.records[entry.id] = CatalogRecord(entry, now, now)
                inserted += 1
            elif replace(old.entry, disabled=entry.disabled) != entry:
                kept = replace(entry, disabled=old.entry.disabled)
                self.records[entry.id] = CatalogRecord(kept, old.reg_date, now)
                updated += 1
        if self.choice is None:
            runtime, version = default
            self.choice = DefaultChoice(runtime, version, False, now, now)  # type: ignore[arg-type]
            inserted += 1
        return SeedResult(inserted, updated)


class MemoryTokenRepo:
    def __init__(self) -> None:
        self.tokens: dict[str, TokenRecord] = {}

    async def insert(self, token: TokenRecord) -> bool:
        taken = {t.secret_hash for t in self.tokens.values()}
        if token.id in self.tokens or token.secret_hash in taken:
            return False
        self.tokens[token.id] = token
        return True

    async def all(self) -> list[TokenRecord]:
        return sorted(self.tokens.values(), key=lambda t: (t.created, t.id))

    async def get(self, token_id: str) -> TokenRecord | None:
        return self.tokens.get(token_id)

    async def revoke(self, token_id: str, now: datetime) -> TokenRecord | None:
        token = self.tokens.get(token_id)
        if token is None:
            return None
        self.tokens[token_id] = token.revoke(now)
        return self.tokens[token_id]

    async def touch(self, token_id: str, when: datetime) -> None:
        token = self.tokens.get(token_id)
        if token is not None:
            self.tokens[token_id] = replace(token, last_used=when)


class MemoryAuditRepo:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def insert(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def page(self, limit: int, before: datetime | None) -> list[AuditEntry]:
        older = [e for e in self.entries if before is None or e.at < before]
        return sorted(older, key=lambda e: e.at, reverse=True)[:limit]


class MemoryCodeStore:
    def __init__(self) -> None:
        self.blobs: dict[str, tuple[str, set[str], datetime]] = {}

    async def prepare(self) -> None:
        """Nothing to create."""

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        del ext
        _, refs, _ = self.blobs.setdefault(sha, (code, set(), utcnow()))
        refs.add(key)
        return MEMORY_PREFIX + sha

    async def get(self, location: str) -> str:
        blob = self.blobs.get(location.removeprefix(MEMORY_PREFIX))
        if blob is None:
            raise CodeNotFound(f"code {location} is missing", detail={"location": location})
        return blob[0]

    async def delete(self, key: str) -> None:
        for sha, (_, refs, _) in list(self.blobs.items()):
            refs.discard(key)
            if not refs:
                del self.blobs[sha]

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        removed = 0
        for sha, (text, refs, created) in list(self.blobs.items()):
            if created >= older_than:
                continue
            kept = {k for k in refs if await is_referenced(k, sha)}
            if kept:
                self.blobs[sha] = (text, kept, created)
            else:
                del self.blobs[sha]
                removed += 1
        return removed


@dataclass
class MemoryStore:
    functions: MemoryFunctionRepo = field(default_factory=MemoryFunctionRepo)
    revisions: MemoryRevisionRepo = field(default_factory=MemoryRevisionRepo)
    operations: MemoryOperationRepo = field(default_factory=MemoryOperationRepo)
    idempotency: MemoryIdempotencyRepo = field(default_factory=MemoryIdempotencyRepo)
    catalog: MemoryCatalogRepo = field(default_factory=MemoryCatalogRepo)
    code: MemoryCodeStore = field(default_factory=MemoryCodeStore)
    tokens: MemoryTokenRepo = field(default_factory=MemoryTokenRepo)
    audit: MemoryAuditRepo = field(default_factory=MemoryAuditRepo)
    layers: MemoryLayerRepo = field(default_factory=MemoryLayerRepo)

    async def prepare(self) -> None:
        await self.code.prepare()

    async def close(self) -> None:
        """Nothing to release."""
