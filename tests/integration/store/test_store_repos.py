"""The MongoDB repositories against the real MongoDB-wire server."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from engine.catalog import builtin_catalog
from engine.records import ErrorInfo, ProgressLine, Revision, Status, utcnow
from engine.store import FunctionQuery, IdempotencyClaim
from tests.integration.store.store_helpers import config, open_store, operation, record


def test_functions_round_trip_and_pages(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        await store.ensure_indexes()
        await store.ensure_indexes()  # idempotent
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
        assert [r.config.name for r in named] == ["fn-3"]
        await store.close()

    asyncio.run(scenario())


def test_commit_revision_is_a_compare_and_set(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        fn = record()
        await store.functions.insert(fn)
        status = Status(generation=2, operation_id="op2")
        new = config(memory_mb=512)
        assert await store.functions.commit_revision(fn.key, 1, new, status, utcnow())
        assert not await store.functions.commit_revision(fn.key, 1, new, status, utcnow())
        got = await store.functions.get(fn.key)
        assert got is not None and got.revision == 2 and got.config == new
        assert got.status == status
        await store.close()

    asyncio.run(scenario())


def test_revisions_and_orphan_sweep(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        await store.ensure_indexes()
        fn = record()
        await store.functions.insert(fn)
        now = utcnow()
        for n in (1, 2):
            assert await store.revisions.insert(Revision(fn.key, n, config(), now))
        assert not await store.revisions.insert(Revision(fn.key, 1, config(), now))
        await store.revisions.insert(Revision("ghost", 1, config(), now))
        assert await store.revisions.references(fn.key, config().code.sha256)
        assert [r.revision for r in await store.revisions.page(fn.key, 10, None)] == [2, 1]
        assert [r.revision for r in await store.revisions.page(fn.key, 10, 2)] == [1]
        current = await store.functions.revisions_of_all()
        removed = await store.revisions.delete_orphans(current, now + timedelta(seconds=1))
        assert removed == 2  # revision 2 (ahead of the function) and the ghost's
        assert await store.revisions.get(fn.key, 1) is not None
        await store.close()

    asyncio.run(scenario())


def test_operations_lifecycle(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
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


def test_idempotency_claims(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        claim = IdempotencyClaim("idem", "hash", "key", "op", utcnow())
        assert await store.idempotency.claim(claim) == claim
        other = IdempotencyClaim("idem", "other", "key2", "op2", utcnow())
        assert await store.idempotency.claim(other) == claim
        await store.close()

    asyncio.run(scenario())


def test_catalog_seed_is_idempotent(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        assert await store.catalog.is_empty()
        specs = builtin_catalog()
        first = await store.catalog.seed(specs, ("node", "20"))
        assert (first.inserted, first.updated) == (4, 0)
        second = await store.catalog.seed(specs, ("node", "20"))
        assert (second.inserted, second.updated) == (0, 0)
        entries = await store.catalog.runtimes()
        assert [e.spec for e in entries] == sorted(specs, key=lambda s: (s.runtime, s.version))
        default = await store.catalog.default()
        assert default is not None and (default.runtime, default.version) == ("node", "20")
        await asyncio.gather(*(store.catalog.seed(specs, ("node", "20")) for _ in range(3)))
        assert len(await store.catalog.runtimes(include_disabled=True)) == 3
        await store.close()

    asyncio.run(scenario())
