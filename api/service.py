"""The function lifecycle behind the /lambda routes: validate, write durably, queue work.

Every mutation writes in the order code blob → revision → function → operation, each write
idempotent, under the function's key lock; the runner then does the slow part. A crash between
two writes leaves either nothing the API shows (swept at the next start, or overwritten by the
next update) or a function whose generation has no operation (reconciled at the next start).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath

from engine.errors import (
    FunctionDeleting,
    FunctionNotFound,
    IdempotencyConflict,
    StaleRevision,
    StoreUnavailable,
)
from engine.keys import is_key, new_key
from engine.operations import OperationRunner
from engine.plan import Plan, diff_specs
from engine.records import (
    CodeRef,
    FunctionConfig,
    FunctionRecord,
    Operation,
    Revision,
    Status,
    needs_retry,
    reconcile_operation,
    status_queued,
    utcnow,
)
from engine.settings import Settings
from engine.spec import FunctionSpec, RuntimeSpec
from engine.store import IdempotencyClaim, Store
from engine.validation import Draft, FunctionInput, validate_create, validate_update
from runtimes.launch import code_filename


@dataclass(frozen=True)
class Mutation:
    """What a create/update/delete did: the function now, the queued work (if any)."""

    function: FunctionRecord
    operation: Operation | None
    changed: bool


class FunctionService:
    def __init__(self, settings: Settings, store: Store, runner: OperationRunner) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner

    # --- reads ------------------------------------------------------------------------------
    async def get(self, key: str, *, include_deleted: bool = False) -> FunctionRecord:
        record = await self.store.functions.get(key) if is_key(key) else None
        if record is None or (record.disabled and not include_deleted):
            raise FunctionNotFound(key)
        return record

    async def code_of(self, record: FunctionRecord) -> str:
        return await self.store.code.get(record.config.code.location)

    async def catalog(self) -> tuple[list[RuntimeSpec], RuntimeSpec | None]:
        """Enabled runtimes and the default one (None if the default is disabled/missing)."""
        entries = [e.spec for e in await self.store.catalog.runtimes()]
        choice = await self.store.catalog.default()
        default = next(
            (
                e
                for e in entries
                if choice and (e.runtime, e.version) == (choice.runtime, choice.version)
            ),
            None,
        )
        return entries, default

    # --- create -----------------------------------------------------------------------------
    async def create(self, given: FunctionInput, idempotency_key: str | None) -> Mutation:
        entries, default = await self.catalog()
        draft = validate_create(given, entries, default, self.settings.max_code_bytes)
        key, op_id = new_key(), new_key()
        if idempotency_key:
            request_hash = _request_hash(draft)
            claim = await self.store.idempotency.claim(
                IdempotencyClaim(idempotency_key, request_hash, key, op_id, utcnow())
            )
            if claim.request_hash != request_hash:
                # The detail never names the function the key created: it is someone's.
                raise IdempotencyConflict(
                    "this Idempotency-Key was used with a different request",
                    detail={"idempotency_key": idempotency_key},
                )
            key, op_id = claim.key, claim.operation_id
        async with self.runner.locks.hold(key):
            mutation = await self._write_create(key, op_id, draft)
        if mutation.operation and mutation.operation.live:
            self.runner.submit(mutation.operation)
        return mutation

    async def _write_create(self, key: str, op_id: str, draft: Draft) -> Mutation:
        """Each step tolerates having been done before (a retried create replays it)."""
        existing = await self.store.functions.get(key)
        if existing is not None:
            op = await self.store.operations.get(op_id)
            if op is not None:
                return Mutation(existing, op, changed=True)
        now = utcnow()
        config = await self._store_config(key, draft.spec(key))
        await self.store.revisions.insert(Revision(key, 1, config, now))
        status = status_queued(Status(), 1, op_id, now, deleting=False)
        record = FunctionRecord(key, config, 1, now, now, status)
        if not await self.store.functions.insert(record):
            record = await self.get(key, include_deleted=True)
        op = Operation(
            op_id, key, "create", revision=1, generation=record.status.generation, created=now
        )
        if not await self.store.operations.insert(op):
            op = await self._operation(op_id)
        return Mutation(record, op, changed=True)

    # --- update -----------------------------------------------------------------------------
    async def update(self, key: str, given: FunctionInput, base_revision: int | None) -> Mutation:
        """A new revision and its update operation; with nothing to change, a `reconcile` of
        the current revision when the last deployment failed or never finished (a retry)."""
        async with self.runner.locks.hold(key):
            record, live = await self._changeable(key, base_revision)
            desired = await self._desired(record, given)
            if desired.spec_hash != record.config.spec_hash:
                op = await self._write_update(record, desired)
            elif needs_retry(record.status, live=bool(live)):
                op = await self._write_retry(record)
            else:
                return Mutation(record, None, changed=False)
        self.runner.submit(op)
        return Mutation(await self.get(key), op, changed=True)

    async def preview(self, key: str, given: FunctionInput, base_revision: int | None) -> Plan:
        """What `update` would do, field by field and resource by resource; writes nothing."""
        async with self.runner.locks.hold(key):
            record, _ = await self._changeable(key, base_revision)
            desired = await self._desired(record, given)
        if desired.spec_hash == record.config.spec_hash:
            return Plan(fields=())
        current = record.config.spec(key, await self.code_of(record))
        target_plan = await asyncio.to_thread(self.runner.target.preview, current, desired)
        return Plan(fields=diff_specs(current, desired), resources=target_plan.resources)

    async def _changeable(
        self, key: str, base_revision: int | None
    ) -> tuple[FunctionRecord, list[Operation]]:
        """The function and its live operations, if it may still change: not deleted (404),
        not being deleted (409 `function_deleting`), at `base_revision` when one is given."""
        record = await self.get(key)
        live = await self.store.operations.live(key)
        delete = next((op for op in live if op.kind == "delete"), None)
        if delete is not None or record.status.phase == "Deleting":
            raise FunctionDeleting(
                "the function is being deleted",
                detail={"key": key, "operation": delete.id if delete else None},
            )
        if base_revision is not None and base_revision != record.revision:
            raise StaleRevision(base_revision, record.revision)
        return record, live

    async def _desired(self, record: FunctionRecord, given: FunctionInput) -> FunctionSpec:
        current = record.config.spec(record.key, await self.code_of(record))
        entries, _ = await self.catalog()
        draft = validate_update(current, given, entries, self.settings.max_code_bytes)
        return draft.spec(record.key)

    async def _write_update(self, record: FunctionRecord, desired: FunctionSpec) -> Operation:
        key, now, revision = record.key, utcnow(), record.revision + 1
        config = await self._store_config(key, desired)
        if not await self.store.revisions.insert(Revision(key, revision, config, now)):
            # Under the key lock the function is still at `record.revision`: the revision
            # found is an orphan of an update whose function write failed (an outage).
            await self.store.revisions.replace(Revision(key, revision, config, now))
        generation = record.status.generation + 1
        op = Operation(
            new_key(), key, "update", revision=revision, generation=generation, created=now
        )
        status = status_queued(record.status, generation, op.id, now, deleting=False)
        if not await self.store.functions.commit_revision(
            key, record.revision, config, status, now
        ):
            await self.store.revisions.delete(key, revision)
            raise StaleRevision(record.revision, revision)
        await self.store.operations.insert(op)
        return op

    async def _write_retry(self, record: FunctionRecord) -> Operation:
        now = utcnow()
        op, status = reconcile_operation(record, new_key(), now)
        await self.store.functions.set_status(record.key, status, now)
        await self.store.operations.insert(op)
        return op

    # --- delete -----------------------------------------------------------------------------
    async def delete(self, key: str) -> Mutation:
        """Destroy in the target, then mark deleted; repeating it does no new work."""
        async with self.runner.locks.hold(key):
            record = await self.get(key, include_deleted=True)
            last = await self._last_operation(record)
            if record.disabled or (last and last.kind == "delete" and last.live):
                return Mutation(record, last, changed=False)
            now = utcnow()
            generation = record.status.generation + 1
            op = Operation(new_key(), key, "delete", record.revision, generation, now)
            status = status_queued(record.status, generation, op.id, now, deleting=True)
            await self.store.functions.set_status(key, status, now)
            await self.store.operations.insert(op)
        self.runner.submit(op)
        return Mutation(await self.get(key, include_deleted=True), op, changed=True)

    # --- helpers ----------------------------------------------------------------------------
    async def _store_config(self, key: str, spec: FunctionSpec) -> FunctionConfig:
        sha = spec.code_sha256
        ext = PurePath(code_filename(spec.runtime, spec.handler, spec.code)).suffix.lstrip(".")
        location = await self.store.code.put(key, sha, ext, spec.code)
        return FunctionConfig(
            name=spec.name,
            runtime=spec.runtime,
            version=spec.version,
            handler=spec.handler,
            image=spec.image,
            code=CodeRef(sha, len(spec.code.encode()), location),
            spec_hash=spec.spec_hash,
            env=spec.env,
            limits=spec.limits,
        )

    async def _operation(self, operation_id: str) -> Operation:
        op = await self.store.operations.get(operation_id)
        if op is None:
            raise StoreUnavailable(f"operation {operation_id} vanished while being written")
        return op

    async def _last_operation(self, record: FunctionRecord) -> Operation | None:
        op_id = record.status.operation_id
        return await self.store.operations.get(op_id) if op_id else None


def _request_hash(draft: Draft) -> str:
    """The request's meaning, independent of key, encoding (JSON or multipart) and order."""
    settings = draft.spec("").settings()
    settings.pop("key")
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
