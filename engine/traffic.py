"""Requests in flight per upstream, counted by the invoke proxy (the only writer) and read by
targets that scale on traffic (the local target's idle and drain rules).

One event loop writes; other threads read plain ints under the GIL, so the hot path takes no
lock. Counters live as long as their `Upstream` (a weak mapping): a replaced worker's
counts vanish with it.
"""

from __future__ import annotations

import time
import weakref

from engine.target import Upstream


class _Counter:
    __slots__ = ("inflight", "last_used")

    def __init__(self) -> None:
        self.inflight = 0
        self.last_used: float | None = None


class Traffic:
    """A `TrafficView` the proxy updates with `begin`/`end` around each forwarded request."""

    def __init__(self) -> None:
        self._counters: weakref.WeakKeyDictionary[Upstream, _Counter] = weakref.WeakKeyDictionary()

    def _counter(self, upstream: Upstream) -> _Counter:
        counter = self._counters.get(upstream)
        if counter is None:
            counter = self._counters[upstream] = _Counter()
        return counter

    def begin(self, upstream: Upstream) -> None:
        counter = self._counter(upstream)
        counter.inflight += 1
        counter.last_used = time.monotonic()

    def end(self, upstream: Upstream) -> None:
        counter = self._counter(upstream)
        counter.inflight -= 1
        counter.last_used = time.monotonic()

    def inflight(self, upstream: Upstream) -> int:
        counter = self._counters.get(upstream)
        return counter.inflight if counter is not None else 0

    def last_used(self, upstream: Upstream) -> float | None:
        counter = self._counters.get(upstream)
        return counter.last_used if counter is not None else None
