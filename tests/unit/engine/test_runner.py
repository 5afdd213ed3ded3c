"""The operation runner: ordering, the concurrency bound, progress, waiting and closing — on
the in-memory store here; tests/integration/engine/test_runner_on_mongo.py runs the same tests
on the real store."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field, replace

import pytest

from engine.locks import KeyLocks
from engine.records import Revision, utcnow
from engine.runner import OperationRunner
from engine.spec import FunctionSpec
from engine.store import Store
from engine.store.memory import MemoryStore
from engine.target import ProgressSink
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.mongo_store import operation, record


@pytest.fixture
def store() -> Store:
    return MemoryStore()


@dataclass
class SlowTarget(FakeTarget):
    """Applies take a while; records how many ran at once and in which order."""

    delay_s: float = 0.1
    running: int = 0
    peak: int = 0
    order: list[str] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        with self.guard:
            self.running += 1
            self.peak = max(self.peak, self.running)
        for n in range(20):
            progress(f"{spec.name} line {n}")
        time.sleep(self.delay_s)
        with self.guard:
            self.running -= 1
            self.order.append(spec.name)


async def seeded(store: Store, name: str) -> str:
    """A function with its revision and code, as a create writes them."""
    fn = record(name)
    code = fn.spec.code
    location = await store.code.put(fn.key, code.sha256, "py", "print(1)")
    fn = replace(fn, spec=replace(fn.spec, code=replace(code, location=location)))
    await store.functions.insert(fn)
    await store.revisions.insert(Revision(fn.key, 1, fn.spec, utcnow()))
    return fn.key


def test_bounded_concurrency_and_per_key_order(store: Store) -> None:
    target = SlowTarget()

    async def scenario() -> None:
        runner = OperationRunner(store, target, KeyLocks(), max_concurrent=2)
        keys = [await seeded(store, f"fn-{n}") for n in range(5)]
        ops = [operation(key) for key in keys]
        ops += [operation(keys[0], "update"), operation(keys[0], "reconcile")]
        for op in ops:
            await store.operations.insert(op)
            runner.submit(op)
        assert await runner.wait(ops[-1].id, 10)
        await runner.idle()
        assert target.peak == 2
        first_key = [await store.operations.get(op.id) for op in (ops[0], ops[5], ops[6])]
        spans = [(op.started, op.finished) for op in first_key if op and op.started and op.finished]
        assert len(spans) == 3
        assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]
        for op in ops:
            done = await store.operations.get(op.id)
            assert done is not None and done.state == "succeeded"
            lines = [p.message for p in done.progress[1:]]
            assert lines == [f"{lines[0].split()[0]} line {n}" for n in range(20)]
        status = await store.functions.get(keys[1])
        assert status is not None and status.status.phase == "Ready"
        await store.close()

    asyncio.run(scenario())


def test_wait_times_out_and_close_cancels(store: Store) -> None:
    target = FakeTarget(gate=threading.Event())

    async def scenario() -> None:
        runner = OperationRunner(store, target, KeyLocks(), max_concurrent=1)
        op = operation(await seeded(store, "blocked"))
        await store.operations.insert(op)
        runner.submit(op)
        assert not await runner.wait(op.id, 0.2)
        assert await runner.wait("unknown", 0.2)
        await runner.close(grace_s=0.1)
        target.gate.set()  # type: ignore[union-attr]
        left = await store.operations.get(op.id)
        assert left is not None and left.state == "running"  # resumed by the next start
        await store.close()

    asyncio.run(scenario())
