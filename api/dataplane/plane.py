"""The control plane's side of the Go data plane: it starts the Go process (and restarts it
if it dies), pushes the route table whenever it changes, and takes back what the data plane
saw — invocation stats into the proxy's `InvokeStats`, in-flight counts and use into the
`Traffic` the target scales by, and failures into the target's feedback.

The table is recomputed every `SYNC_S` from what the control plane already holds: the
functions it has seen invoked, each one's warm worker (never starting one) and, for a
token-protected function, the tokens that may invoke it now. A function that is not in the
table (cold, unknown, being deployed) reaches the control plane's own `/endpoint` through the
data plane, which activates it; the next sync routes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, cast

from api.dataplane.build import built_binary
from api.dataplane.child import Child, Message
from api.dataplane.listen import control_socket, public_address
from api.dataplane.table import Table, UpstreamIds, WarmView, invokers, route
from api.proxy import OVERRUN_GRACE_S, InvokeProxy, InvokeStats
from engine.access_service import AccessService
from engine.errors import DataPlaneFailed
from engine.records import utcnow
from engine.settings import Settings
from engine.target import InvokeAuthority, InvokeFeedback, OverrunFeedback, Target

if TYPE_CHECKING:
    from api.platform import Platform

log = logging.getLogger("lambdaclone.dataplane")
SYNC_S = 0.05
RESTART_S = 0.5
FAILURES = {"timed_out": "timed_out", "crashed": "crashed"}


@asynccontextmanager
async def serve_data_plane(platform: Platform, settings: Settings) -> AsyncIterator[DataPlane]:
    binary = await asyncio.to_thread(built_binary)
    plane = DataPlane(platform.proxy, platform.access, settings, str(binary))
    await plane.start()
    try:
        yield plane
    finally:
        await plane.close()


class DataPlane:
    def __init__(
        self, proxy: InvokeProxy, access: AccessService, settings: Settings, binary: str
    ) -> None:
        self.proxy = proxy
        self.target: Target = proxy.target
        self.access = access
        self.argv = _argv(binary, settings)
        self.ids = UpstreamIds()
        self.child: Child | None = None
        self.pushed: Table | None = None
        self._pushed_to: Child | None = None
        self._counted: dict[str, int] = {}  # in-flight counts added to Traffic, per upstream id
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._wake = asyncio.Event()
        access.on_change.append(self._wake.set)  # a revoked token is pushed at once

    async def start(self) -> None:
        self.child = await Child.start(self.argv, self.ingest)
        log.info("data plane serving %s", self.child.address)
        self._tasks = [
            asyncio.create_task(self._keep_synced(), name="dataplane-sync"),
            asyncio.create_task(self._keep_running(), name="dataplane-watch"),
        ]

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.child is not None:
            await self.child.stop()

    # --- the route table ---------------------------------------------------------------------
    def table(self) -> Table:
        keys = set(self.proxy.stats) | set(self.pushed or ())
        tokens = self.access.records()
        now = utcnow()
        out: Table = {}
        for key in keys:
            upstream = self.target.warm_upstream(key) if isinstance(self.target, WarmView) else None
            if upstream is None:
                continue
            declared = (
                self.target.invoke_auth(key) if isinstance(self.target, InvokeAuthority) else None
            )
            auth = "token" if "token" in (declared, upstream.auth) else "none"
            allowed = invokers(tokens, key, now) if auth == "token" else []
            out[key] = route(upstream, self.ids.of(upstream), auth, allowed)
        return out

    async def sync(self) -> None:
        """Push the table if it changed, or if the data plane is a new process (restarted):
        what was pushed is remembered with the process it went to."""
        child, table = self.child, self.table()
        if child is None or (child is self._pushed_to and table == self.pushed):
            return
        await child.push(table)
        self.pushed, self._pushed_to = table, child

    async def _keep_synced(self) -> None:
        """Runs for the data plane's life: a push that fails (the process died under it, a
        function changing meanwhile) is logged and retried at the next tick, never the end
        of syncing — a restarted data plane would otherwise never get its routes."""
        while True:
            try:
                await self.sync()
            except Exception:  # a background loop's boundary: the next tick pushes again
                log.exception("pushing the route table to the data plane failed")
            with contextlib.suppress(TimeoutError):  # workers come and go: look every SYNC_S
                await asyncio.wait_for(self._wake.wait(), SYNC_S)
            self._wake.clear()

    async def _keep_running(self) -> None:
        """Restarts the data plane if it dies; the fresh one gets the whole table."""
        while not self._closing:
            assert self.child is not None
            status = await self.child.wait()
            log.warning("the data plane exited (status %s); restarting it", status)
            self._forget_inflight()
            while not self._closing:
                await asyncio.sleep(RESTART_S)
                try:
                    self.child = await Child.start(self.argv, self.ingest)
                except DataPlaneFailed as exc:
                    log.warning("%s", exc)
                    continue
                break

    # --- what the data plane saw --------------------------------------------------------------
    def ingest(self, message: Message) -> None:
        for tally in message.get("stats") or ():
            self._record(tally)
        for kind, key, upstream_id in message.get("events") or ():
            self._feedback(kind, key, upstream_id)
        self._traffic(message.get("activity") or {})

    def _record(self, tally: dict[str, object]) -> None:
        key = str(tally["key"])
        stats = self.proxy.stats.get(key)
        if stats is None:
            stats = self.proxy.stats[key] = InvokeStats()
        stats.invocations += cast(int, tally["n"])
        stats.total_ms += cast(float, tally["total_ms"])
        stats.last_ms = cast(float, tally["last_ms"])
        stats.max_ms = max(stats.max_ms, cast(float, tally["max_ms"]))
        for code, count in cast(dict[str, int], tally.get("errors") or {}).items():
            stats.errors[code] = stats.errors.get(code, 0) + count

    def _feedback(self, kind: str, key: str, upstream_id: str) -> None:
        upstream = self.ids.upstream(upstream_id)
        if upstream is None:
            return
        if kind == "overran" and isinstance(self.target, OverrunFeedback):
            task = asyncio.create_task(asyncio.to_thread(self.target.invoke_overran, key, upstream))
            task.add_done_callback(_log_failure)
        elif kind in FAILURES and isinstance(self.target, InvokeFeedback):
            self.target.invoke_failed(
                key, upstream, "timed_out" if kind == "timed_out" else "crashed"
            )

    def _traffic(self, activity: dict[str, list[int]]) -> None:
        """The data plane's in-flight counts and use, mirrored into the proxy's `Traffic`."""
        traffic = self.proxy.traffic
        for upstream_id in set(self._counted) | set(activity):
            upstream = self.ids.upstream(upstream_id)
            inflight, used = activity.get(upstream_id, (0, 0))
            if upstream is None:
                self._counted.pop(upstream_id, None)
                continue
            counted = self._counted.get(upstream_id, 0)
            for _ in range(inflight - counted):
                traffic.begin(upstream)
            for _ in range(counted - inflight):
                traffic.end(upstream)
            if used and inflight == counted:
                traffic.begin(upstream)  # marks its last use
                traffic.end(upstream)
            if inflight:
                self._counted[upstream_id] = inflight
            else:
                self._counted.pop(upstream_id, None)

    def _forget_inflight(self) -> None:
        self._traffic({})


def _argv(binary: str, settings: Settings) -> list[str]:
    return [
        binary,
        f"-listen={public_address(settings)}",
        f"-fallback={control_socket(settings)}",
        f"-max-payload={settings.max_payload_bytes}",
        f"-queue-depth={settings.invoke_queue_depth}",
        f"-queue-wait={settings.invoke_queue_wait_ms}ms",
        f"-overrun-grace={OVERRUN_GRACE_S}s",
        f"-max-header-bytes={settings.http_max_header_bytes}",
        f"-header-timeout={settings.http_header_timeout_s}s",
        f"-keep-alive={settings.http_keep_alive_s}s",
    ]


def _log_failure(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        if task.exception() is not None:
            log.warning("restarting an overrun worker failed: %s", task.exception())
