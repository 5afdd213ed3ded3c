"""The local target's in-memory record of one deployed function."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from engine.local.active import ActiveDeployment
from engine.local.logbook import LogBook
from engine.local.process import WorkerProcess
from engine.local.supervision import WorkerHealth
from engine.target import TrafficView, Upstream


@dataclass(eq=False)
class Drain:
    """A worker taken out of traffic (replaced or idle) that finishes its requests first."""

    worker: WorkerProcess
    upstream: Upstream
    detached_at: float
    reason: str


@dataclass(eq=False)
class Slot:
    """State of one function. `lock` guards every field; `op_lock` serializes apply/destroy.

    `worker`/`upstream` are the deployment taking traffic (None when scaled to zero or in
    backoff). The invoke hot path never reads a slot: it reads the supervisor's `ready` map.
    """

    key: str
    logbook: LogBook
    active: ActiveDeployment | None = None
    health: WorkerHealth = field(default_factory=WorkerHealth)
    worker: WorkerProcess | None = None
    upstream: Upstream | None = None
    last_used: float = field(default_factory=time.monotonic)
    """When this function last started a worker or saw a request (before the current one)."""
    draining: list[Drain] = field(default_factory=list)
    deleted: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    op_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def memory_mb(self) -> int | None:
        return self.active.spec.limits.memory_mb if self.active else None

    def recent_use(self, traffic: TrafficView) -> float:
        """When a request last reached this function (any of its workers)."""
        if self.upstream is not None:
            return max(self.last_used, traffic.last_used(self.upstream) or 0.0)
        return self.last_used

    def worker_of(self, upstream: Upstream) -> WorkerProcess | None:
        """The worker serving `upstream`: in traffic or draining (caller's lock)."""
        if self.upstream is upstream:
            return self.worker
        return next((d.worker for d in self.draining if d.upstream is upstream), None)

    def detach(self, now: float, reason: str, traffic: TrafficView) -> Drain | None:
        """Take the serving worker out of traffic; returns it for draining (caller's lock)."""
        worker, upstream = self.worker, self.upstream
        self.worker, self.upstream = None, None
        if worker is None or upstream is None:
            return None
        self.last_used = max(self.last_used, traffic.last_used(upstream) or 0.0)
        return Drain(worker, upstream, now, reason)
