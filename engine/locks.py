"""Per-function locks, one kind per execution model. The composition root owns one `KeyLocks`
shared by the function service and the operation runner; the Kubernetes target serializes the
operations of each stack with `ThreadKeyLocks`. Both drop a key's lock once nobody holds or
waits for it, so they never grow with the number of functions ever seen.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


class KeyLocks:
    """One asyncio lock per function key: the API's writes and the runner's status updates of
    one function never interleave (the store has no multi-document transactions)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class ThreadKeyLocks:
    """The same for threads: one `threading.Lock` per key."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._users: Counter[str] = Counter()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            self._users[key] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                self._users[key] -= 1
                if self._users[key] == 0:
                    del self._users[key], self._locks[key]
