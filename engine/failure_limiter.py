"""Failed credential checks per client address: past a number per minute, a client gets 429
for the rest of the minute before any lookup (guessing tokens online is slow anyway at 2^-256
a try; this keeps logs and the CPU quiet)."""

from __future__ import annotations

import time
from collections import deque

from engine.errors import TooManyRequests

CLIENTS_MAX = 10_000


class FailureLimiter:
    """Failed credential checks per client address in the last minute."""

    WINDOW_S = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        recent = self._recent(client)
        if recent is not None and len(recent) >= self.per_minute:
            retry = max(1, round(recent[0] + self.WINDOW_S - time.monotonic()))
            raise TooManyRequests("too many failed sign-ins; try again later", retry_after_s=retry)

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(time.monotonic())
        if len(self._failures) > CLIENTS_MAX:  # bounded: forget the oldest clients
            self._failures.pop(next(iter(self._failures)))

    def _recent(self, client: str) -> deque[float] | None:
        recent = self._failures.get(client)
        if recent is None:
            return None
        cutoff = time.monotonic() - self.WINDOW_S
        while recent and recent[0] < cutoff:
            recent.popleft()
        if not recent:
            del self._failures[client]
            return None
        return recent
