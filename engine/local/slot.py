"""The local target's in-memory record of one deployed function."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from engine.local.active import ActiveRevision
from engine.local.logbook import LogBook
from engine.local.process import Worker
from engine.local.supervision import Status
from engine.target import Activity, Upstream


@dataclass(eq=False)
class Drain:
    """A worker taken out of traffic (replaced or idle) that finishes its requests first."""

    worker: Worker
    activity: Activity
    detached_at: float
    timeout_ms: int
    reason: str


@dataclass(eq=False)
class Slot:
    """State of one function. `lock` guards every field; `op_lock` serializes apply/destroy.

    `worker`/`upstream` are the revision taking traffic (None when scaled to zero or in
    backoff). The invoke hot path never reads a slot: it reads the supervisor's `ready` map.
    """

    key: str
    logbook: LogBook
    active: ActiveRevision | None = None
    status: Status = field(default_factory=Status)
    worker: Worker | None = None
    upstream: Upstream | None = None
    last_used: float = field(default_factory=time.monotonic)
    draining: list[Drain] = field(default_factory=list)
    deleted: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    op_lock: threading.Lock = field(default_factory=threading.Lock)

    def recent_use(self) -> float:
        """When a request last reached this function (any of its workers)."""
        if self.upstream is not None:
            return max(self.last_used, self.upstream.activity.last_used)
        return self.last_used

    def worker_of(self, upstream: Upstream) -> Worker | None:
        """The worker serving `upstream`: in traffic or draining (caller's lock)."""
        if self.upstream is upstream:
            return self.worker
        return next((d.worker for d in self.draining if d.activity is upstream.activity), None)

    def detach(self, now: float, reason: str) -> Drain | None:
        """Take the serving worker out of traffic; returns it for draining (caller's lock)."""
        worker, upstream = self.worker, self.upstream
        self.worker, self.upstream = None, None
        if worker is None or upstream is None:
            return None
        self.last_used = max(self.last_used, upstream.activity.last_used)
        return Drain(worker, upstream.activity, now, upstream.timeout_ms, reason)
