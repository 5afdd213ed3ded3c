"""Admission to a worker's capacity: at most `concurrency` requests run in a worker; the next
ones wait, first come first served, in a bounded queue (`invoke_queue_depth` waiters, each
for at most `invoke_queue_wait_ms`) before they are refused with 429 + `Retry-After`.

Lambda answers a synchronous invoke over its concurrency at once; a FaaS in front of a handful
of local workers would then refuse a burst just above the cap while the workers are a
millisecond from free. Waiting briefly turns that burst into answers, and the bound keeps a
flood from holding unbounded memory. A place that ends is handed straight to the oldest
waiter (the in-flight count never drops in between), so no newcomer overtakes the queue and
the cap holds exactly: a request above it never reaches the worker.

One event loop owns this (the proxy's); the counts themselves are `engine.traffic.Traffic`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

from engine.errors import TooManyRequests
from engine.target import Upstream
from engine.traffic import Traffic

RETRY_AFTER_S = 1


class Admission:
    def __init__(self, traffic: Traffic, queue_depth: int, queue_wait_s: float) -> None:
        self.traffic = traffic
        self.queue_depth = queue_depth
        self.queue_wait_s = queue_wait_s
        self._queues: weakref.WeakKeyDictionary[Upstream, deque[asyncio.Future[None]]] = (
            weakref.WeakKeyDictionary()
        )

    def waiting(self, upstream: Upstream) -> int:
        queue = self._queues.get(upstream)
        return len(queue) if queue is not None else 0

    async def enter(self, upstream: Upstream) -> None:
        """Take a place in `upstream` (waiting for one if need be); raises `TooManyRequests`."""
        queue = self._queues.get(upstream)
        if not queue and self.traffic.inflight(upstream) < upstream.concurrency:
            self.traffic.begin(upstream)
            return
        if queue is None:
            queue = self._queues[upstream] = deque()
        if len(queue) >= self.queue_depth:
            raise _refused(upstream, "and its queue is full")
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(place)
        admitted = False
        try:
            async with asyncio.timeout(self.queue_wait_s):
                await place
            admitted = True
        except TimeoutError as exc:
            raise _refused(upstream, f"after {self.queue_wait_s * 1000:.0f} ms queued") from exc
        finally:
            if not admitted:
                self._withdraw(upstream, queue, place)

    def leave(self, upstream: Upstream) -> None:
        """The request in `upstream` ended: its place goes to the oldest waiter, if any."""
        queue = self._queues.get(upstream)
        while queue:
            place = queue.popleft()
            if not place.done():
                place.set_result(None)
                self.traffic.end(upstream)
                self.traffic.begin(upstream)  # handed over: the count never drops below
                return
        self.traffic.end(upstream)

    def _withdraw(
        self, upstream: Upstream, queue: deque[asyncio.Future[None]], place: asyncio.Future[None]
    ) -> None:
        """A waiter that stopped waiting (timed out, or its client left) leaves the queue; if
        its place was handed to it in that same instant, the place goes on to the next."""
        if place in queue:
            queue.remove(place)
        elif place.done() and not place.cancelled():
            self.leave(upstream)


def _refused(upstream: Upstream, why: str) -> TooManyRequests:
    return TooManyRequests(
        f"the function is at its concurrency limit ({upstream.concurrency}) {why}",
        retry_after_s=RETRY_AFTER_S,
    )
