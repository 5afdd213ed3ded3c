"""Starts, watches and stops the workers of the local target.

One daemon thread ticks every `TICK_S`: it stops idle workers (scale to zero), kills workers
over their memory limit, restarts crashed ones when their backoff ends, and stops replaced
workers once drained. Worker exits are seen at once by each worker's waiter thread. Blocking
work (starting, stopping) runs on a small thread pool, never on the event loop.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from engine.errors import FunctionCrashed, FunctionNotFound, FunctionNotReady
from engine.local import health, process
from engine.local.active import ActiveDeployment
from engine.local.addresses import upstream_of, where
from engine.local.exits import worker_exit
from engine.local.launch import Launch, Spare, new_worker_id
from engine.local.process import StartFailedError, WorkerProcess
from engine.local.slot import Slot
from engine.local.spares import SparePool
from engine.local.supervision import BackoffPolicy, drained, is_idle, wait_for_restart
from engine.net import free_port
from engine.settings import Settings
from engine.target import InvokeFailure, TrafficView, Upstream

TICK_S = 0.2
HOST = "127.0.0.1"
MAX_WAIT_FOR_RESTART_S = 2.0
PROBE_AFTER_FAILURE_S = 1.0
OVERRUN_EXIT_WAIT_S = 2.0
MIB = 1024 * 1024

Launcher = Callable[[ActiveDeployment, int], Launch]


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        launcher: Launcher,
        traffic: TrafficView,
        policy: BackoffPolicy | None = None,
        spares: dict[str, SparePool] | None = None,
    ) -> None:
        self.settings = settings
        self.traffic = traffic
        self.spares = spares or {}
        self.slots: dict[str, Slot] = {}
        self.ready: dict[str, Upstream] = {}
        self.starting: set[str] = set()
        """Ids of workers being started, not yet in a slot (recovery must not kill them)."""
        self._launcher = launcher
        self._policy = policy or BackoffPolicy()
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambdaclone-local")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # --- starting ------------------------------------------------------------------------
    def start_worker(self, slot: Slot, active: ActiveDeployment) -> tuple[WorkerProcess, Upstream]:
        """Spawn a worker for `active` and wait until it is healthy (raises `StartFailedError`)."""
        if self._stopping.is_set():
            raise StartFailedError("the local target is shutting down", "")
        self._ensure_thread()
        started = time.monotonic()
        for attempt in (1, 2):
            launch = self._launcher(active, free_port(HOST))
            worker_id, spare = self._claim(launch)
            try:
                worker = process.spawn(
                    launch, slot.logbook, partial(self._on_exit, slot), spare, worker_id
                )
            except StartFailedError as exc:
                self.starting.discard(worker_id)
                slot.logbook.write("platform", f"worker failed to start: {exc.message}")
                raise
            try:
                worker.convention = health.wait_healthy(
                    worker, self.settings.worker_start_timeout_s
                )
            except StartFailedError as exc:
                process.kill_now(worker, "failed to start")
                worker.popen.wait()
                self.starting.discard(worker_id)
                if attempt == 1 and "address already in use" in exc.output.lower():
                    continue
                slot.logbook.write("platform", f"worker pid {worker.pid} failed: {exc.message}")
                raise
            break
        elapsed_ms = (time.monotonic() - started) * 1000
        how = " (pre-started)" if spare is not None and worker.popen is spare.popen else ""
        slot.logbook.write(
            "platform",
            f"worker pid {worker.pid}{how} ({worker.deployment}) healthy on {where(worker)} "
            f"in {elapsed_ms:.0f} ms",
        )
        return worker, upstream_of(worker, active)

    def _claim(self, launch: Launch) -> tuple[str, Spare | None]:
        """The new worker's id (a fresh one, or the runtime's spare's), kept in `starting`
        until `install` puts the worker in its slot or the start fails."""
        pool = self.spares.get(launch.runtime) if launch.use_spare else None
        spare = pool.take() if pool is not None else None
        worker_id = spare.mark.worker if spare is not None else new_worker_id()
        self.starting.add(worker_id)
        return worker_id, spare

    def install(self, slot: Slot, worker: WorkerProcess, upstream: Upstream, reason: str) -> None:
        """Put a healthy worker in traffic; the one it replaces drains (caller holds the lock)."""
        self.starting.discard(worker.worker_id)
        now = time.monotonic()
        old = slot.detach(now, reason, self.traffic)
        if old is not None:
            slot.draining.append(old)
        slot.worker, slot.upstream = worker, upstream
        slot.last_used = max(slot.last_used, now)
        slot.health = slot.health.ready(now)
        self.ready[slot.key] = upstream

    def ensure_ready(self, key: str) -> Upstream:
        """Blocking cold start of a deployed function (scaled to zero or after a crash)."""
        slot = self.slots.get(key)
        if slot is None:
            raise FunctionNotFound(key)
        with slot.lock:
            if slot.deleted or slot.active is None:
                raise FunctionNotFound(key)
            if slot.upstream is not None:
                return slot.upstream
            self._wait_backoff(slot)
            try:
                worker, upstream = self.start_worker(slot, slot.active)
            except StartFailedError as exc:
                slot.health = slot.health.failed(time.monotonic(), exc.message, self._policy)
                # the caller of an endpoint learns that it failed, not the function's output
                # (it may print anything): that is in the function's log, for its developers
                raise FunctionCrashed("the function failed to start; see its logs") from exc
            self.install(slot, worker, upstream, "cold start")
            return upstream

    def _wait_backoff(self, slot: Slot) -> None:
        wait = wait_for_restart(slot.health, time.monotonic(), MAX_WAIT_FOR_RESTART_S)
        if wait is None:
            retry = max(1, round(slot.health.retry_at - time.monotonic()))
            raise FunctionNotReady(
                f"the function's worker failed ({slot.health.last_exit}); "
                f"it is restarted in {retry}s",
                detail={"retry_after_s": retry, "reason": slot.health.last_exit},
            )
        if wait > 0:
            time.sleep(wait)

    def _restart(self, slot: Slot) -> None:
        """Backoff ended: start the active revision again unless something else did."""
        try:
            self.ensure_ready(slot.key)
        except (FunctionCrashed, FunctionNotReady, FunctionNotFound) as exc:
            slot.logbook.write("platform", f"restart failed: {exc.message}")

    # --- stopping ------------------------------------------------------------------------
    def stop_slot(self, slot: Slot, reason: str) -> list[WorkerProcess]:
        """Take every worker of `slot` out of traffic; returns them for `terminate_all`."""
        with slot.lock:
            drain = slot.detach(time.monotonic(), reason, self.traffic)
            workers = [d.worker for d in slot.draining] + ([drain.worker] if drain else [])
            slot.draining.clear()
            if self.ready.get(slot.key) is not None:
                del self.ready[slot.key]
            slot.health = slot.health.stopped(reason)
        return workers

    def terminate_all(self, workers: list[WorkerProcess], reason: str) -> None:
        futures = [self.pool.submit(process.terminate, w, reason) for w in workers]
        for future in futures:
            future.result()
        for worker in workers:
            for reader in worker.readers:
                reader.join(timeout=1.0)

    def _on_exit(self, slot: Slot, worker: WorkerProcess) -> None:
        """Waiter thread: a worker exited. Unplanned exits of the serving worker → backoff."""
        with slot.lock:
            slot.draining = [d for d in slot.draining if d.worker is not worker]
            if slot.worker is not worker or slot.deleted:
                return
            now = time.monotonic()
            slot.detach(now, "exited", self.traffic)
            if self.ready.get(slot.key) is not None:
                del self.ready[slot.key]
            reason = worker_exit(worker, slot.memory_mb)
            slot.health = slot.health.failed(now, reason, self._policy)
            delay = slot.health.retry_at - now
            slot.logbook.write(
                "platform", f"worker pid {worker.pid} {reason}; restarting in {delay:.1f}s"
            )

    # --- feedback from the proxy ---------------------------------------------------------
    def invoke_failed(self, key: str, upstream: Upstream, failure: InvokeFailure) -> None:
        slot = self.slots.get(key)
        if slot is None or slot.upstream is not upstream or slot.worker is None:
            return
        self.pool.submit(self._check_after_failure, slot, slot.worker, failure)

    def invoke_overran(self, key: str, upstream: Upstream) -> None:
        """A request is still running well past its timeout: kill the worker running it (a
        Python thread cannot be stopped otherwise) and wait for its exit; the crash path
        restarts it. Blocking: the proxy calls it off the event loop."""
        slot = self.slots.get(key)
        if slot is None:
            return
        with slot.lock:
            worker = slot.worker_of(upstream)
        if worker is None or not worker.alive():
            return
        slot.logbook.write(
            "platform",
            f"worker pid {worker.pid} still running a request past its timeout: killing",
        )
        process.kill_now(worker, "killed: a request ran past its timeout")
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.popen.wait(timeout=OVERRUN_EXIT_WAIT_S)

    def _check_after_failure(
        self, slot: Slot, worker: WorkerProcess, failure: InvokeFailure
    ) -> None:
        """A request crashed or timed out: if the worker no longer answers health, replace it."""
        if not worker.alive():
            return  # the waiter thread handles the exit
        status, _ = health.probe_worker(worker, PROBE_AFTER_FAILURE_S)
        if status == 200:
            return
        reason = "hung" if failure == "timed_out" else "unresponsive"
        slot.logbook.write(
            "platform", f"worker pid {worker.pid} {reason} after a {failure} request: killing"
        )
        process.kill_now(worker, f"killed: {reason} (health check failed after a request)")

    # --- the tick ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="lambdaclone-supervisor", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(TICK_S):
            for slot in list(self.slots.values()):
                if slot.lock.acquire(blocking=False):
                    try:
                        self.tick(slot, time.monotonic())
                    finally:
                        slot.lock.release()

    def tick(self, slot: Slot, now: float) -> None:
        """One supervision pass over a function (caller holds its lock)."""
        if slot.deleted:
            return
        self._check_idle(slot, now)
        self._check_memory(slot)
        self._check_drains(slot, now)
        self._check_backoff(slot, now)

    def _check_idle(self, slot: Slot, now: float) -> None:
        upstream = slot.upstream
        if upstream is None or slot.health.state != "ready":
            return
        idle_s = self.settings.idle_timeout_s
        inflight = self.traffic.inflight(upstream)
        if is_idle(now, slot.recent_use(self.traffic), inflight, idle_s, upstream.timeout_ms):
            if self.ready.get(slot.key) is upstream:
                del self.ready[slot.key]
            drain = slot.detach(now, "idle", self.traffic)
            if drain is not None:
                slot.draining.append(drain)
            slot.health = slot.health.stopped("idle")
            slot.logbook.write("platform", f"scaled to zero after {idle_s:g}s idle")

    def _check_memory(self, slot: Slot) -> None:
        """Plain workers only: a sandboxed one's cgroup enforces the limit (the kernel's OOM
        kill, reported by its exit)."""
        if slot.worker is None or slot.memory_mb is None or slot.worker.box is not None:
            return
        limit = slot.memory_mb * MIB
        rss = process.rss_bytes(slot.worker.pid)
        if rss is not None and rss > limit and not slot.worker.stop_reason:
            reason = f"killed: memory limit exceeded ({rss // MIB} MB > {limit // MIB} MB)"
            slot.logbook.write("platform", f"worker pid {slot.worker.pid} {reason}")
            process.kill_now(slot.worker, reason)

    def _check_drains(self, slot: Slot, now: float) -> None:
        done = [
            d
            for d in slot.draining
            if drained(now, d.detached_at, self.traffic.inflight(d.upstream), d.upstream.timeout_ms)
        ]
        for drain in done:
            slot.draining.remove(drain)
            self.pool.submit(process.terminate, drain.worker, drain.reason)

    def _check_backoff(self, slot: Slot, now: float) -> None:
        health = slot.health
        if health.state != "backoff" or now < health.retry_at:
            return
        if now - slot.recent_use(self.traffic) >= self.settings.idle_timeout_s:
            slot.health = health.stopped(f"not restarted while idle ({health.last_exit})")
            return
        slot.health = health.starting()
        self.pool.submit(self._restart, slot)

    def close(self) -> None:
        self._stopping.set()
        reason = "control plane stopping"
        self.terminate_all(self._stop_all(reason), reason)
        self.pool.shutdown(wait=True, cancel_futures=True)
        for worker in self._stop_all(reason):  # started by a task that was already running
            process.terminate(worker, reason)
        for pool in self.spares.values():
            pool.close()
        for slot in self.slots.values():
            slot.logbook.close()

    def _stop_all(self, reason: str) -> list[WorkerProcess]:
        workers: list[WorkerProcess] = []
        for slot in list(self.slots.values()):
            workers += self.stop_slot(slot, reason)
        return workers
