"""The provider contract: one interface, several backends (local processes, Kubernetes).

Provisioning calls block (Pulumi's `up` can take minutes), so they are plain functions that the
operation runner calls off the event loop; only `upstream`, on the invoke path, is async.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from engine.plan import Plan
from engine.spec import DEFAULT_CONCURRENCY, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, FunctionSpec

ProgressSink = Callable[[str], None]
"""Receives human-readable progress lines; the runner records them on the operation."""


class Activity:
    """Requests in flight to one upstream, counted by the invoke proxy (one event loop).

    The target reads it (from its supervisor thread) to stop idle workers and to drain a
    replaced one; plain ints under the GIL, so no lock on the hot path.
    """

    __slots__ = ("inflight", "last_used")

    def __init__(self) -> None:
        self.inflight = 0
        self.last_used = time.monotonic()


@dataclass(frozen=True)
class Upstream:
    """Where an invocation of a function is sent, and the limits the proxy enforces there.

    The proxy sends `<path_prefix><path suffix>?<query>` to `host:port`.
    """

    host: str
    port: int
    path_prefix: str = ""
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    concurrency: int = DEFAULT_CONCURRENCY
    memory_mb: int = DEFAULT_MEMORY_MB
    activity: Activity = field(default_factory=Activity, compare=False, repr=False)


InvokeFailure = Literal["crashed", "timed_out"]


@runtime_checkable
class InvokeFeedback(Protocol):
    """Optional for targets: told by the proxy when a worker failed a request, so it can react
    at once (restart a dead or hung worker) instead of at its next poll."""

    def invoke_failed(self, key: str, upstream: Upstream, failure: InvokeFailure) -> None: ...


@runtime_checkable
class LogSource(Protocol):
    """Optional for targets: recent log lines of a function's workers, oldest first."""

    def logs(self, key: str, limit: int) -> list[dict[str, object]]: ...


class Target(Protocol):
    name: str

    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        """What `apply(desired)` would change, without changing anything."""
        ...

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        """Make the function's resources match `spec`; safe to repeat after a crash."""
        ...

    def destroy(self, key: str, progress: ProgressSink) -> None:
        """Remove everything the function owns; a second call is a no-op."""
        ...

    async def upstream(self, key: str) -> Upstream:
        """Address of a ready worker for `key`, starting one if the target scales to zero."""
        ...

    def recover(self, progress: ProgressSink) -> None:
        """Clear what a crashed process left (stale locks, pending operations)."""
        ...

    def close(self) -> None: ...
