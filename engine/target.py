"""The provider contract: one interface, several backends (local processes, Kubernetes), the
optional capabilities a target may add, and the factory that picks one from the settings.

Provisioning calls block (Pulumi's `up` can take minutes), so they are plain functions that the
operation runner calls off the event loop; only `upstream`, on the invoke path, is async.
Requests in flight are counted by the invoke proxy, not by targets (`engine.traffic`): a target
that needs to know (to stop idle workers) is given the proxy's `TrafficView`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from engine.plan import Plan
from engine.settings import Settings
from engine.spec import DEFAULT_CONCURRENCY, FunctionSpec, Secrets
from runtimes.contract import DEFAULT_TIMEOUT_MS

ProgressSink = Callable[[str], None]
"""Receives human-readable progress lines; the runner records them on the operation."""

InvokeFailure = Literal["crashed", "timed_out"]


@dataclass(frozen=True, eq=False)
class Upstream:
    """Where an invocation is sent, and the limits the proxy enforces there: the proxy sends
    `<path_prefix><path suffix>?<query>` to `host:port` — or, when `socket_path` is set, over
    that Unix socket, `host` then only naming the worker (its pool of connections). Each worker
    (or Service) has its own instance, compared by identity, so traffic counts never mix two
    workers on one port."""

    host: str
    port: int
    path_prefix: str = ""
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    concurrency: int = DEFAULT_CONCURRENCY
    auth: str = "none"
    """The function's invoke auth (`none` or `token`): the proxy checks it."""
    socket_path: str | None = None
    """A local worker's Unix socket (a sandboxed worker has no TCP port)."""
    function_url_errors: bool = False
    """A Lambda-convention function: a timeout or a dead worker answers as a Function URL
    does (502, a generic body, `X-Amz-Function-Error: Unhandled`), not with the platform's
    error shape — the details go to the log only."""


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


class TrafficView(Protocol):
    """What the invoke proxy knows about the requests it sent to an upstream."""

    def inflight(self, upstream: Upstream) -> int: ...

    def last_used(self, upstream: Upstream) -> float | None:
        """`time.monotonic()` of the last request's start or end; None if it had none."""
        ...


# --- optional capabilities (checked with isinstance by the proxy and the routes) -----------
@runtime_checkable
class InvokeFeedback(Protocol):
    """Told by the proxy when a worker failed a request, so the target can react at once
    (restart a dead or hung worker) instead of at its next poll."""

    def invoke_failed(self, key: str, upstream: Upstream, failure: InvokeFailure) -> None: ...


@runtime_checkable
class OverrunFeedback(Protocol):
    """A request has run past its timeout plus the proxy's grace without an answer: stop what
    is still running it (restart the worker) and return once it is stopped. Called off the
    event loop; the request's concurrency place is freed after it returns."""

    def invoke_overran(self, key: str, upstream: Upstream) -> None: ...


@runtime_checkable
class InvokeAuthority(Protocol):
    """The invoke auth (`none`/`token`) of a function's deployed revision, known without
    starting anything (None: not deployed here): the proxy refuses a caller of a protected
    function before the target would cold-start a worker for it."""

    def invoke_auth(self, key: str) -> str | None: ...


@runtime_checkable
class LogSource(Protocol):
    """Recent log lines of a function's workers, oldest first."""

    def logs(self, key: str, limit: int) -> list[dict[str, object]]: ...


class SecretOpener(Protocol):
    """Opens a function's sealed secrets: a target calls it only to hand the values to the
    processes (or the Kubernetes Secret) that run the function."""

    def open(self, secrets: Secrets) -> dict[str, str]: ...


def build_target(settings: Settings, traffic: TrafficView, secrets: SecretOpener) -> Target:
    """The configured backend; imported lazily so the local default never loads Pulumi and
    the Kubernetes target never starts local processes."""
    if settings.target == "kubernetes":
        from engine.kubernetes.target import KubernetesTarget  # noqa: PLC0415

        return KubernetesTarget(settings, secrets)
    from engine.local.target import LocalTarget  # noqa: PLC0415

    return LocalTarget(settings, traffic, secrets)
