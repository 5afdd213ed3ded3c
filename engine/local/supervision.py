"""The supervision rules of a function's worker, as pure values and functions (no I/O, no clock).

A function that is deployed on the local target is always in one of four states:

```
            start              healthy
  stopped ────────► starting ─────────► ready
     ▲  ▲               │ failed           │ exited / killed (memory, hung)
     │  │               ▼                  ▼
     │  └──── idle ── backoff ◄────────────┘
     │                  │ retry_at reached → starting
     └──── idle (ready, nothing in flight, no request for idle_timeout) ◄── ready
```

`backoff` counts consecutive failures; a worker that stayed ready for `stable_after_s` starts
the count again, so one crash a day is retried at once and a crash loop slows down to `cap_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

WorkerState = Literal["stopped", "starting", "ready", "backoff"]


@dataclass(frozen=True)
class BackoffPolicy:
    base_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 30.0
    stable_after_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Wait before restart number `failures` (1 = after the first failure)."""
        if failures <= 0:
            return 0.0
        return float(min(self.cap_s, self.base_s * self.factor ** (failures - 1)))


@dataclass(frozen=True)
class WorkerHealth:
    state: WorkerState = "stopped"
    failures: int = 0
    retry_at: float = 0.0
    ready_since: float = 0.0
    last_exit: str = ""

    def starting(self) -> WorkerHealth:
        return replace(self, state="starting")

    def ready(self, now: float) -> WorkerHealth:
        return replace(self, state="ready", ready_since=now)

    def failed(self, now: float, reason: str, policy: BackoffPolicy) -> WorkerHealth:
        """The worker exited, was killed, or never became healthy: schedule a restart."""
        stable = self.state == "ready" and now - self.ready_since >= policy.stable_after_s
        failures = 1 if stable else self.failures + 1
        return WorkerHealth(
            state="backoff",
            failures=failures,
            retry_at=now + policy.delay(failures),
            last_exit=reason,
        )

    def stopped(self, reason: str) -> WorkerHealth:
        """Scaled to zero on purpose; the failure count is kept for the next start."""
        return replace(self, state="stopped", last_exit=reason)


def is_idle(
    now: float, last_used: float, inflight: int, idle_timeout_s: float, timeout_ms: int
) -> bool:
    """A ready worker may be stopped: nothing in flight and no request for `idle_timeout_s`.

    The proxy counts requests in flight; should a count ever be lost, the function's timeout
    bounds any request, so `idle_timeout_s + timeout` after the last one the worker is idle anyway.
    """
    quiet = now - last_used
    return (
        inflight <= 0 and quiet >= idle_timeout_s
    ) or quiet >= idle_timeout_s + timeout_ms / 1000


def drained(now: float, detached_at: float, inflight: int, timeout_ms: int) -> bool:
    """A worker taken out of traffic may be stopped: its requests finished, or their timeout
    has passed. `DRAIN_MIN_S` covers a request that picked the worker just before the switch
    and has not been counted yet."""
    waited = now - detached_at
    if waited < DRAIN_MIN_S:
        return False
    return inflight <= 0 or waited >= timeout_ms / 1000 + DRAIN_MARGIN_S


DRAIN_MIN_S = 0.1
DRAIN_MARGIN_S = 0.5


def wait_for_restart(health: WorkerHealth, now: float, max_wait_s: float) -> float | None:
    """How long a request should wait for a restart in backoff; None = answer 'not ready'."""
    if health.state != "backoff":
        return 0.0
    remaining = max(0.0, health.retry_at - now)
    return remaining if remaining <= max_wait_s else None
