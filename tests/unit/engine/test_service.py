"""The function service's use cases on the in-memory store and a fake target: what a user of
the API sees happen to their function, and what a crash between two writes leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import (
    FunctionDeleting,
    FunctionNotFound,
    IdempotencyConflict,
    StaleRevision,
    StoreUnavailable,
    TargetError,
)
from engine.locks import KeyLocks
from engine.records import Revision, utcnow
from engine.recovery import ORPHAN_GRACE
from engine.runner import OperationRunner
from engine.service import FunctionService
from engine.store.memory import MemoryStore
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.local_targets import ephemeral_keyring

CODE = "export default function handler(req, res) { res.json({ ok: true }); }\n"
OTHER = "export default function handler(req, res) { res.json({ ok: 2 }); }\n"


@dataclass
class World:
    store: MemoryStore
    target: FakeTarget
    service: FunctionService

    async def settle(self) -> None:
        await self.service.runner.idle()


def world(store: MemoryStore | None = None, target: FakeTarget | None = None) -> World:
    store = store or MemoryStore()
    target = target or FakeTarget()
    locks = KeyLocks()
    runner = OperationRunner(store, target, locks, max_concurrent=2)
    service = FunctionService(
        store,
        target,
        runner,
        locks,
        ephemeral_keyring(),
        max_code_bytes=4096,
        image_registry="lambdaclone",
    )
    return World(store, target, service)


def run(scenario: Callable[[World], Awaitable[None]], **parts: Any) -> None:
    async def main() -> None:
        w = world(**parts)
        await w.service.seed_catalog()
        await scenario(w)
        await w.service.runner.close()

    asyncio.run(main())


def test_create_stores_code_revision_function_and_work_then_the_target_applies() -> None:
    async def scenario(w: World) -> None:
        made = await w.service.create({"name": "hello"}, CODE, None)
        assert made.changed and made.operation is not None and made.operation.kind == "create"
        assert made.function.status.phase == "Pending" and made.function.revision == 1
        assert made.function.spec.config.runtime == "node"  # the catalog's default
        await w.settle()
        ready = await w.service.get(made.function.key)
        assert ready.status.phase == "Ready" and ready.status.observed_generation == 1
        assert w.target.applied[ready.key].code == CODE
        assert await w.service.code_of(ready) == CODE
        assert await w.store.revisions.get(ready.key, 1) is not None

    run(scenario)


def test_an_idempotency_key_replays_the_same_create_and_refuses_another() -> None:
    async def scenario(w: World) -> None:
        first = await w.service.create({"name": "a"}, CODE, "idem-1")
        again = await w.service.create({"name": "a"}, CODE.encode(), "idem-1")
        assert again.function.key == first.function.key
        assert again.operation is not None and first.operation is not None
        assert again.operation.id == first.operation.id
        with pytest.raises(IdempotencyConflict):
            await w.service.create({"name": "b"}, CODE, "idem-1")
        assert len(w.store.functions.records) == 1

    run(scenario)


def test_updates_new_revision_unchanged_stale_and_retry() -> None:
    async def scenario(w: World) -> None:
        key = (await w.service.create({"name": "f"}, CODE, None)).function.key
        await w.settle()
        same = await w.service.update(key, {"name": "f"}, CODE, None)
        assert not same.changed and same.operation is None
        with pytest.raises(StaleRevision):
            await w.service.update(key, {"memory_mb": 256}, None, base_revision=7)
        changed = await w.service.update(key, {"memory_mb": 256}, OTHER, base_revision=1)
        assert changed.function.revision == 2 and changed.function.status.generation == 2
        await w.settle()
        assert w.target.applied[key].limits.memory_mb == 256
        assert w.target.applied[key].code == OTHER

        w.target.fail_with = TargetError("boom")
        await w.service.update(key, {"memory_mb": 512}, None, None)
        await w.settle()
        assert (await w.service.get(key)).status.phase == "Failed"
        w.target.fail_with = None
        retry = await w.service.update(key, {}, None, None)  # nothing new: deploy again
        assert retry.changed and retry.operation is not None
        assert retry.operation.kind == "reconcile"
        await w.settle()
        assert (await w.service.get(key)).status.phase == "Ready"

    run(scenario)


def test_preview_asks_the_target_and_writes_nothing() -> None:
    async def scenario(w: World) -> None:
        key = (await w.service.create({"name": "f"}, CODE, None)).function.key
        await w.settle()
        before = (dict(w.store.functions.records), dict(w.store.revisions.revisions))
        plan = await w.service.preview(key, {"env": {"A": "secret"}}, OTHER, None)
        assert {f.path for f in plan.fields} == {"code_sha256", "env.A"}
        assert all(f.new != "secret" for f in plan.fields)
        assert plan.resources and w.target.previews[-1][1].env.as_dict() == {"A": "secret"}
        assert (dict(w.store.functions.records), dict(w.store.revisions.revisions)) == before
        assert not (await w.service.preview(key, {}, None, None)).changed

    run(scenario)


def test_delete_destroys_then_marks_deleted_and_repeating_it_does_nothing() -> None:
    async def scenario(w: World) -> None:
        key = (await w.service.create({"name": "f"}, CODE, None)).function.key
        await w.settle()
        deleting = await w.service.delete(key)
        assert deleting.changed and deleting.function.status.phase == "Deleting"
        with pytest.raises(FunctionDeleting):
            await w.service.update(key, {"memory_mb": 256}, None, None)
        await w.settle()
        with pytest.raises(FunctionNotFound):
            await w.service.get(key)
        gone = await w.service.get(key, include_deleted=True)
        assert gone.disabled and gone.status.phase == "Deleted"
        assert w.target.kinds(key) == ["apply", "destroy"]
        assert not (await w.service.delete(key)).changed

    run(scenario)


def test_unknown_and_malformed_keys_are_not_found() -> None:
    async def scenario(w: World) -> None:
        for key in ("nosuchkeynosuchkeynosuchke", "../etc", ""):
            with pytest.raises(FunctionNotFound):
                await w.service.get(key)

    run(scenario)


class CrashingStore(MemoryStore):
    """Fails every write after the first `writes_left` (a control plane killed mid-request)."""

    def __init__(self, writes_left: int) -> None:
        super().__init__()
        self.writes_left = writes_left
        for repo, names in (
            (self.code, ("put",)),
            (self.revisions, ("insert", "replace")),
            (self.functions, ("insert", "commit_revision", "set_status")),
            (self.operations, ("insert",)),
        ):
            for name in names:
                setattr(repo, name, self._counted(getattr(repo, name)))

    def _counted(self, write: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            if self.writes_left <= 0:
                raise StoreUnavailable("killed")
            self.writes_left -= 1
            return await write(*args, **kwargs)

        return counted


@pytest.mark.parametrize("writes", [0, 1, 2, 3])
def test_a_create_cut_short_at_any_write_shows_nothing_or_recovers(writes: int) -> None:
    """code blob → revision → function → operation: cut after `writes` of them, the API shows
    nothing (and recovery sweeps the leftovers once old enough) or a function that recovery
    brings to Ready."""
    crashing = CrashingStore(writes)

    async def scenario(w: World) -> None:
        with pytest.raises(StoreUnavailable):
            await w.service.create({"name": "cut"}, CODE, None)
        crashing.writes_left = 10**6  # the next start: the store works again
        keys = list(crashing.functions.records)
        assert len(keys) == (1 if writes >= 3 else 0)
        old = utcnow() - ORPHAN_GRACE - timedelta(seconds=1)
        crashing.revisions.revisions = {
            at: replace(r, created=old) for at, r in crashing.revisions.revisions.items()
        }
        crashing.code.blobs = {
            sha: (t, refs, old) for sha, (t, refs, _) in crashing.code.blobs.items()
        }
        await w.service.recover()
        await w.settle()
        if keys:
            assert (await w.service.get(keys[0])).status.phase == "Ready"
        else:
            assert not crashing.revisions.revisions and not crashing.code.blobs
        assert not await crashing.operations.live()

    run(scenario, store=crashing)


def test_recovery_resumes_live_operations_and_reconciles_the_rest() -> None:
    async def scenario(w: World) -> None:
        blocked = (await w.service.create({"name": "a"}, CODE, None)).function.key
        stranded = (await w.service.create({"name": "b"}, OTHER, None)).function.key
        await w.service.runner.close(grace_s=0)  # the control plane stops mid-operation
        for op in list(w.store.operations.operations.values()):
            if op.key == stranded:  # its operation never got written
                del w.store.operations.operations[op.id]
        fresh = world(w.store, FakeTarget())
        await fresh.service.recover()
        await fresh.settle()
        for key in (blocked, stranded):
            assert (await fresh.service.get(key)).status.phase == "Ready"
            assert fresh.target.applied[key].key == key
        await fresh.service.runner.close()

    run(scenario)


def test_a_revision_written_by_a_failed_update_is_replaced_by_the_next() -> None:
    async def scenario(w: World) -> None:
        key = (await w.service.create({"name": "f"}, CODE, None)).function.key
        await w.settle()
        record = await w.service.get(key)
        orphan = Revision(key, 2, replace(record.spec, image="left-behind"), utcnow())
        await w.store.revisions.insert(orphan)
        await w.service.update(key, {"memory_mb": 256}, None, None)
        second = await w.store.revisions.get(key, 2)
        assert second is not None and second.spec.image != "left-behind"

    run(scenario)
