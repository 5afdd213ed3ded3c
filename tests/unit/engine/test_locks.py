"""Per-key locks: one holder per key, keys independent, nothing kept once released."""

from __future__ import annotations

import asyncio
import threading
import time

from engine.locks import KeyLocks, ThreadKeyLocks


def test_thread_locks_one_holder_per_key_and_keys_are_independent() -> None:
    locks = ThreadKeyLocks()
    active: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    guard = threading.Lock()

    def work(key: str) -> None:
        with locks.hold(key):
            with guard:
                active[key] += 1
                peak[key] = max(peak[key], active[key])
            time.sleep(0.01)
            with guard:
                active[key] -= 1

    threads = [threading.Thread(target=work, args=(k,)) for k in "ab" * 5]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == {"a": 1, "b": 1}
    assert not locks._locks and not locks._users


def test_async_locks_one_holder_per_key_and_keys_are_independent() -> None:
    locks = KeyLocks()
    active: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def work(key: str) -> None:
        async with locks.hold(key):
            active[key] += 1
            peak[key] = max(peak[key], active[key])
            await asyncio.sleep(0.005)
            active[key] -= 1

    async def main() -> None:
        await asyncio.gather(*(work(k) for k in "ab" * 5))

    asyncio.run(main())
    assert peak == {"a": 1, "b": 1}
    assert not locks._locks and not locks._users
