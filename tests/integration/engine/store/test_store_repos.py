"""The store's ports, one contract: the MongoDB repositories against the real MongoDB-wire
server, and the in-memory store the fast tests use, must answer alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from engine.catalog import builtin_catalog
from engine.records import ErrorInfo, FunctionStatus, ProgressLine, Revision, utcnow
from engine.store import FunctionQuery, IdempotencyClaim, Store
from tests.fixtures.mongo_store import any_store, operation, record, spec_ref

__all__ = ["any_store"]


def test_functions_round_trip_and_pages(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        await store.prepare()
        await store.prepare()  # idempotent
        base = utcnow()
        records = [record(f"fn-{n}", base + timedelta(seconds=n // 2)) for n in range(5)]
        for r in records:
            assert await store.functions.insert(r)
        assert not await store.functions.insert(records[0])
        assert await store.functions.get(records[0].key) == records[0]
        page = await store.functions.page(FunctionQuery(limit=2))
        rest = await store.functions.page(
            FunctionQuery(limit=10, after=(page[-1].reg_date, page[-1].key))
        )
        expected = sorted(records, key=lambda r: (r.reg_date, r.key))
        assert [r.key for r in page + rest] == [r.key for r in expected]
        named = await store.functions.page(FunctionQuery(limit=10, name_prefix="fn-3"))
        assert [r.spec.config.name for r in named] == ["fn-3"]
        await store.close()

    asyncio.run(scenario())


def test_commit_revision_is_a_compare_and_set(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        fn = record()
        await store.functions.insert(fn)
        status = FunctionStatus(generation=2, operation_id="op2")
        new = spec_ref(memory_mb=512)
        assert await store.functions.commit_revision(fn.key, 1, new, status, utcnow())
        assert not await store.functions.commit_revision(fn.key, 1, new, status, utcnow())
        got = await store.functions.get(fn.key)
        assert got is not None and got.revision == 2 and got.spec == new
        assert got.status == status
        await store.close()

    asyncio.run(scenario())


def test_revisions_and_orphan_sweep(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        await store.prepare()
        fn = record()
        await store.functions.insert(fn)
        now = utcnow()
        for n in (1, 2):
            assert await store.revisions.insert(Revision(fn.key, n, spec_ref(), now))
        assert not await store.revisions.insert(Revision(fn.key, 1, spec_ref(), now))
        await store.revisions.insert(Revision("ghost", 1, spec_ref(), now))
        assert await store.revisions.references(fn.key, spec_ref().code.sha256)
        assert [r.revision for r in await store.revisions.page(fn.key, 10, None)] == [2, 1]
        assert [r.revision for r in await store.revisions.page(fn.key, 10, 2)] == [1]
        current = await store.functions.revisions_of_all()
        removed = await store.revisions.delete_orphans(current, now + timedelta(seconds=1))
        assert removed == 2  # revision 2 (ahead of the function) and the ghost's
        assert await store.revisions.get(fn.key, 1) is not None
        await store.close()

    asyncio.run(scenario())


def test_operations_lifecycle(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        first = operation("k")
        second = operation("k", "update", first.created + timedelta(seconds=1))
        for op in (second, first):
            assert await store.operations.insert(op)
        assert not await store.operations.insert(first)
        assert [op.id for op in await store.operations.live()] == [first.id, second.id]
        started = await store.operations.start(first.id, utcnow(), "go")
        assert started is not None and started.state == "running" and started.attempts == 1
        await store.operations.append(first.id, ProgressLine(utcnow(), "line"))
        error = ErrorInfo("target_error", "no", {"n": 1})
        done = await store.operations.finish(first.id, "failed", error, utcnow())
        assert done is not None and done.error == error
        assert [p.message for p in done.progress] == ["go", "line"]
        assert await store.operations.start(first.id, utcnow(), "again") is None
        assert [op.id for op in await store.operations.for_key("k", 10)] == [second.id, first.id]
        assert [op.id for op in await store.operations.live("k")] == [second.id]
        await store.close()

    asyncio.run(scenario())


def test_idempotency_claims(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        claim = IdempotencyClaim("idem", "hash", "key", "op", utcnow())
        assert await store.idempotency.claim(claim) == claim
        other = IdempotencyClaim("idem", "other", "key2", "op2", utcnow())
        assert await store.idempotency.claim(other) == claim
        await store.close()

    asyncio.run(scenario())


def test_catalog_seed_is_idempotent(any_store: Store) -> None:
    async def scenario() -> None:
        store = any_store
        assert await store.catalog.is_empty()
        specs = builtin_catalog()
        first = await store.catalog.seed(specs, ("node", "20"))
        assert (first.inserted, first.updated) == (len(specs) + 1, 0)  # and the default
        second = await store.catalog.seed(specs, ("node", "20"))
        assert (second.inserted, second.updated) == (0, 0)
        entries = await store.catalog.runtimes()
        assert [e.entry for e in entries] == sorted(specs, key=lambda s: (s.runtime, s.version))
        default = await store.catalog.default()
        assert default is not None and (default.runtime, default.version) == ("node", "20")
        await asyncio.gather(*(store.catalog.seed(specs, ("node", "20")) for _ in range(3)))
        assert len(await store.catalog.runtimes(include_disabled=True)) == len(specs)
        await store.close()

    asyncio.run(scenario())
