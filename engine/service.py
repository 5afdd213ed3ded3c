"""The function lifecycle: validate, write durably, queue work — the use cases behind every
client (the /lambda API, the original dialect, the CLI through them).

**The write order.** Every mutation writes, under the function's key lock and each write
idempotent or a compare-and-set, in this order — and only through `_write_revision` (code blob
→ revision), the function write, then `_queue` (operation → runner):

    code blob → revision → function → operation

(with layers attached: layer claims first and committed last, `engine.layer_service`)

The runner then does the slow part. A crash between two writes leaves either nothing the API
shows (an unreferenced blob or revision, swept by `recover` once older than `ORPHAN_GRACE`, or
overwritten by the next update) or a function whose generation has no operation (reconciled by
`recover`, in `engine/recovery.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath

from engine.catalog import DEFAULT_RUNTIME as BUILTIN_DEFAULT
from engine.catalog import Catalog, builtin_catalog, find_entry
from engine.env_rules import check_environment_size, check_secret_updates
from engine.errors import (
    FunctionDeleting,
    FunctionNotFound,
    IdempotencyConflict,
    StaleRevision,
    StoreUnavailable,
)
from engine.keyring import Keyring
from engine.keys import is_key, new_key
from engine.layer_service import claimed_layers, resolve_layers
from engine.locks import KeyLocks
from engine.plan import Plan, diff_specs
from engine.records import (
    CodeRef,
    FunctionRecord,
    FunctionStatus,
    Operation,
    Revision,
    SpecRef,
    needs_retry,
    reconcile_operation,
    status_queued,
    utcnow,
)
from engine.recovery import recover
from engine.runner import OperationRunner
from engine.spec import FunctionSpec, Secrets
from engine.store import IdempotencyClaim, SeedResult, Store
from engine.target import Target
from engine.validation import Changes, validate_create, validate_update
from runtimes.registry import driver


@dataclass(frozen=True)
class Mutation:
    """What a create/update/delete did: the function now, the queued work (if any)."""

    function: FunctionRecord
    operation: Operation | None
    changed: bool


class FunctionService:
    def __init__(
        self,
        store: Store,
        target: Target,
        runner: OperationRunner,
        locks: KeyLocks,
        keyring: Keyring,
        *,
        max_code_bytes: int,
        image_registry: str,
    ) -> None:
        self.keyring = keyring
        self.store = store
        self.target = target
        self.runner = runner
        self.locks = locks
        self.max_code_bytes = max_code_bytes
        self.image_registry = image_registry

    # --- reads ------------------------------------------------------------------------------
    async def get(self, key: str, *, include_deleted: bool = False) -> FunctionRecord:
        record = await self.store.functions.get(key) if is_key(key) else None
        if record is None or (record.disabled and not include_deleted):
            raise FunctionNotFound(key)
        return record

    async def code_of(self, record: FunctionRecord) -> str:
        return await self.store.code.get(record.spec.code.location)

    async def spec_of(self, record: FunctionRecord) -> FunctionSpec:
        return record.spec.spec(record.key, await self.code_of(record))

    async def catalog(self) -> Catalog:
        entries = tuple(r.entry for r in await self.store.catalog.runtimes())
        choice = await self.store.catalog.default()
        default = find_entry(entries, choice.runtime, choice.version) if choice else None
        return Catalog(entries, default)

    async def seed_catalog(self) -> SeedResult:
        """Seed (idempotently) the stored catalog and default from this release's."""
        entries = await asyncio.to_thread(builtin_catalog, self.image_registry)
        return await self.store.catalog.seed(entries, BUILTIN_DEFAULT)

    # --- create -----------------------------------------------------------------------------
    async def create(
        self, changes: Changes, code: str | bytes | None, idempotency_key: str | None
    ) -> Mutation:
        catalog = await self.catalog()
        key, op_id = new_key(), new_key()
        changes = self._sealed(changes, Secrets())
        # off the event loop: a package is inflated and hashed here (up to 250 MB)
        checked = await asyncio.to_thread(
            validate_create, key, changes, code, catalog, self.max_code_bytes
        )
        spec = await resolve_layers(self.store, self._checked(checked))
        if idempotency_key:
            key, op_id = await self._claim(idempotency_key, spec, key, op_id)
            spec = FunctionSpec(key, spec.config, spec.code, spec.image, spec.run_command)
        async with self.locks.hold(key), claimed_layers(self.store, spec):
            mutation = await self._write_create(spec, op_id)
        if mutation.operation and mutation.operation.live:
            self.runner.submit(mutation.operation)
        return mutation

    async def _claim(
        self, idempotency_key: str, spec: FunctionSpec, key: str, op_id: str
    ) -> tuple[str, str]:
        """The key and operation of the create this idempotency key started (maybe this one)."""
        request_hash = _request_hash(spec)
        claim = await self.store.idempotency.claim(
            IdempotencyClaim(idempotency_key, request_hash, key, op_id, utcnow())
        )
        if claim.request_hash != request_hash:
            # The detail never names the function the key created: it is someone's.
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request",
                detail={"idempotency_key": idempotency_key},
            )
        return claim.key, claim.operation_id

    async def _write_create(self, spec: FunctionSpec, op_id: str) -> Mutation:
        """Each step tolerates having been done before (a retried create replays it)."""
        existing = await self.store.functions.get(spec.key)
        if existing is not None:
            op = await self.store.operations.get(op_id)
            if op is not None:
                return Mutation(existing, op, changed=True)
        now = utcnow()
        stored = await self._write_revision(spec, 1)
        status = status_queued(FunctionStatus(), 1, op_id, now, deleting=False)
        record = FunctionRecord(spec.key, stored, 1, now, now, status)
        if not await self.store.functions.insert(record):
            record = await self.get(spec.key, include_deleted=True)
        op = Operation(op_id, spec.key, "create", 1, record.status.generation, now)
        return Mutation(record, await self._record_operation(op), changed=True)

    # --- update -----------------------------------------------------------------------------
    async def update(
        self, key: str, changes: Changes, code: str | bytes | None, base_revision: int | None
    ) -> Mutation:
        """A new revision and its update operation; with nothing to change, a `reconcile` of
        the current revision when the last deployment failed or never finished (a retry)."""
        async with self.locks.hold(key):
            record, live = await self._changeable(key, base_revision)
            desired = await self._desired(record, changes, code)
            if desired.spec_hash != record.spec.spec_hash:
                async with claimed_layers(self.store, desired):
                    op = await self._write_update(record, desired)
            elif needs_retry(record.status, live=bool(live)):
                op = await self._write_retry(record)
            else:
                return Mutation(record, None, changed=False)
        self.runner.submit(op)
        return Mutation(await self.get(key), op, changed=True)

    async def preview(
        self, key: str, changes: Changes, code: str | bytes | None, base_revision: int | None
    ) -> Plan:
        """What `update` would do, field by field and resource by resource; writes nothing."""
        async with self.locks.hold(key):
            record, _ = await self._changeable(key, base_revision)
            desired = await self._desired(record, changes, code)
        if desired.spec_hash == record.spec.spec_hash:
            return Plan(fields=())
        current = await self.spec_of(record)
        target_plan = await asyncio.to_thread(self.target.preview, current, desired)
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

    async def _desired(
        self, record: FunctionRecord, changes: Changes, code: str | bytes | None
    ) -> FunctionSpec:
        current = await self.spec_of(record)
        catalog = await self.catalog()
        changes = self._sealed(changes, current.config.secrets)
        spec = await asyncio.to_thread(
            validate_update, current, changes, code, catalog.entries, self.max_code_bytes
        )
        return await resolve_layers(self.store, self._checked(spec))

    def _sealed(self, changes: Changes, current: Secrets) -> Changes:
        """A request's plain secret values, sealed before anything else sees them."""
        if "secrets" not in changes:
            return changes
        updates = check_secret_updates(changes["secrets"])
        return {**changes, "secrets": self.keyring.seal(updates, current).to_data()}

    def _checked(self, spec: FunctionSpec) -> FunctionSpec:
        """The rule only the opened values can be checked against: the total size."""
        check_environment_size({**spec.env.as_dict(), **self.keyring.open(spec.config.secrets)})
        return spec

    async def _write_update(self, record: FunctionRecord, desired: FunctionSpec) -> Operation:
        key, now, revision = record.key, utcnow(), record.revision + 1
        stored = await self._write_revision(desired, revision)
        generation = record.status.generation + 1
        op = Operation(new_key(), key, "update", revision, generation, now)
        status = status_queued(record.status, generation, op.id, now, deleting=False)
        if not await self.store.functions.commit_revision(
            key, record.revision, stored, status, now
        ):
            await self.store.revisions.delete(key, revision)
            raise StaleRevision(record.revision, revision)
        return await self._record_operation(op)

    async def _write_retry(self, record: FunctionRecord) -> Operation:
        now = utcnow()
        op, status = reconcile_operation(record, new_key(), now)
        await self.store.functions.set_status(record.key, status, now)
        return await self._record_operation(op)

    # --- delete -----------------------------------------------------------------------------
    async def delete(self, key: str) -> Mutation:
        """Destroy in the target, then mark deleted; repeating it does no new work."""
        async with self.locks.hold(key):
            record = await self.get(key, include_deleted=True)
            last = await self._last_operation(record)
            if record.disabled or (last and last.kind == "delete" and last.live):
                return Mutation(record, last, changed=False)
            now = utcnow()
            generation = record.status.generation + 1
            op = Operation(new_key(), key, "delete", record.revision, generation, now)
            status = status_queued(record.status, generation, op.id, now, deleting=True)
            await self.store.functions.set_status(key, status, now)
            await self._record_operation(op)
        self.runner.submit(op)
        return Mutation(await self.get(key, include_deleted=True), op, changed=True)

    # --- recovery -----------------------------------------------------------------------------
    async def recover(self) -> None:
        """After a restart: see `engine.recovery`."""
        await recover(self)

    async def reconcile(self, key: str) -> Operation | None:
        """Queue work that brings the target to the function's current desired state."""
        async with self.locks.hold(key):
            record = await self.store.functions.get(key)
            if record is None:
                return None
            now = utcnow()
            op, status = reconcile_operation(record, new_key(), now)
            await self.store.functions.set_status(key, status, now)
            await self._record_operation(op)
        self.runner.submit(op)
        return op

    # --- the writes, in their order -----------------------------------------------------------
    async def _write_revision(self, spec: FunctionSpec, revision: int) -> SpecRef:
        """Steps 1 and 2: the code blob, then the revision that points at it. Under the key
        lock a revision found at `revision` is an orphan (the function is still at the one
        before it): the update that wrote it failed before its function write."""
        code = await self._store_code(spec)
        stored = SpecRef.of(spec, code)
        entry = Revision(spec.key, revision, stored, utcnow())
        if not await self.store.revisions.insert(entry):
            await self.store.revisions.replace(entry)
        return stored

    async def _store_code(self, spec: FunctionSpec) -> CodeRef:
        filename = driver(spec.runtime).code_filename(spec.handler, spec.code)
        ext = PurePath(filename).suffix.lstrip(".")
        location = await self.store.code.put(spec.key, spec.code_sha256, ext, spec.code)
        return CodeRef(spec.code_sha256, len(spec.code.encode()), location)

    async def _record_operation(self, op: Operation) -> Operation:
        """Step 4, after the function write: the operation, or the one a replay wrote."""
        if await self.store.operations.insert(op):
            return op
        found = await self.store.operations.get(op.id)
        if found is None:
            raise StoreUnavailable(f"operation {op.id} vanished while being written")
        return found

    async def _last_operation(self, record: FunctionRecord) -> Operation | None:
        op_id = record.status.operation_id
        return await self.store.operations.get(op_id) if op_id else None


def _request_hash(spec: FunctionSpec) -> str:
    """The request's meaning, independent of key, encoding (JSON or multipart) and order."""
    settings = spec.settings()
    settings.pop("key")
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
