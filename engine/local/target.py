"""The local target: each function runs as a supervised worker process on a loopback port.

`apply` writes the deployment's code, runs its runtime's build (if any), starts a worker beside
the current one and switches traffic only once the new one is healthy; `upstream` is the invoke
hot path (a dict lookup when warm, a cold start off the event loop when scaled to zero). Nothing
here names a runtime: each one's driver says how it builds and launches. See
docs/local-target.md.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from functools import partial
from pathlib import Path

from engine.errors import FunctionNotFound, TargetError
from engine.formats import endpoint_path
from engine.keys import check_key
from engine.local import active as active_file
from engine.local import build, preview
from engine.local.active import ActiveDeployment
from engine.local.artifacts import Artifacts
from engine.local.disk_state import DiskState
from engine.local.layout import Layout, deployment_name
from engine.local.logbook import LogBook
from engine.local.process import Launch, StartFailedError, WorkerProcess
from engine.local.slot import Slot
from engine.local.spares import SparePool
from engine.local.supervisor import HOST, Supervisor
from engine.local.toolchains import Toolchains
from engine.plan import Plan
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import InvokeFailure, ProgressSink, TrafficView, Upstream
from runtimes.contract import bytecode_env, worker_env
from runtimes.registry import driver, drivers

log = logging.getLogger(__name__)


class LocalTarget:
    name = "local"

    def __init__(self, settings: Settings, traffic: TrafficView) -> None:
        self.settings = settings
        self.layout = Layout.under(settings.data_dir)
        self.toolchains = Toolchains()
        self.traffic = traffic
        self._sup = Supervisor(settings, self._launch, traffic, spares=self._spare_pools())
        self._artifacts = Artifacts(self.layout, self._active_specs)
        self._disk = DiskState(self.layout, self._sup)
        self._starting: dict[str, asyncio.Future[Upstream]] = {}
        self._disk.load_active()

    # --- the Target protocol -------------------------------------------------------------
    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        return preview.plan(current, desired)

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        check_key(spec.key)
        slot = self._locked_slot(spec.key)
        try:
            with self._artifacts.pinned(spec):
                self._apply(slot, spec, progress)
        finally:
            slot.op_lock.release()
            self._prune_artifacts(progress)  # an update may leave the previous one unused

    def destroy(self, key: str, progress: ProgressSink) -> None:
        check_key(key)
        slot = self._sup.slots.get(key)
        if slot is not None:
            with slot.op_lock:
                with slot.lock:
                    slot.deleted = True
                    self._sup.slots.pop(key, None)
                workers = self._sup.stop_slot(slot, "deleted")
                self._sup.terminate_all(workers, "deleted")
                slot.logbook.close()
                if workers:
                    progress(f"stopped {len(workers)} worker(s)")
        function_dir = self.layout.function_dir(key)
        for outcome in self._disk.kill_orphans(key, keep_live=False):
            progress(outcome)
        if function_dir.exists():
            shutil.rmtree(function_dir)
            progress(f"removed {function_dir}")
        elif slot is None:
            progress("nothing to remove")
        self._prune_artifacts(progress)

    async def upstream(self, key: str) -> Upstream:
        ready = self._sup.ready.get(key)
        if ready is not None:
            return ready
        return await self._cold_start(key)

    def recover(self, progress: ProgressSink) -> None:
        self._disk.load_active()
        for key in self._disk.function_keys():
            for outcome in self._disk.kill_orphans(key, keep_live=True):
                progress(f"{key}: {outcome}")
            for removed in self._disk.prune_deployments(key):
                progress(f"{key}: removed unused {removed}")
        for leftover in self.layout.artifacts.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        self._prune_artifacts(progress)
        self._disk.kill_orphan_spares(progress)

    def close(self) -> None:
        self._sup.close()

    # --- extras: logs, status, proxy feedback --------------------------------------------
    def logs(self, key: str, limit: int) -> list[dict[str, object]]:
        check_key(key)
        slot = self._sup.slots.get(key)
        if slot is not None:
            book = slot.logbook
        elif self.layout.function_dir(key).exists():
            book = LogBook(self.layout.log_file(key))
        else:
            raise FunctionNotFound(key)
        return [line.to_dict() for line in book.recent(limit)]

    def status(self, key: str) -> dict[str, object]:
        slot = self._sup.slots.get(key)
        if slot is None or slot.active is None:
            raise FunctionNotFound(key)
        interpreter = self.toolchains.describe(slot.active.spec.runtime)
        with slot.lock:
            worker, health = slot.worker, slot.health
            return {
                "state": health.state,
                "deployment": deployment_name(slot.active.spec.spec_hash),
                "pid": worker.pid if worker else None,
                "port": worker.port if worker else None,
                "failures": health.failures,
                "last_exit": health.last_exit,
                "interpreter": interpreter,
            }

    def runtime_versions(self) -> dict[str, str]:
        """The versions that really run functions here: `{"python": "3.11.7", ...}`."""
        return self.toolchains.all()

    def invoke_failed(self, key: str, upstream: Upstream, failure: InvokeFailure) -> None:
        self._sup.invoke_failed(key, upstream, failure)

    def invoke_overran(self, key: str, upstream: Upstream) -> None:
        """A request ran past timeout + grace: restart its worker."""
        self._sup.invoke_overran(key, upstream)

    # --- apply ---------------------------------------------------------------------------
    def _locked_slot(self, key: str) -> Slot:
        """The function's slot with its `op_lock` held (a destroyed slot is replaced)."""
        while True:
            slot = self._sup.slots.get(key)
            if slot is None:
                slot = Slot(key, LogBook(self.layout.log_file(key)))
                slot = self._sup.slots.setdefault(key, slot)
            slot.op_lock.acquire()
            if not slot.deleted:
                return slot
            slot.op_lock.release()

    def _apply(self, slot: Slot, spec: FunctionSpec, progress: ProgressSink) -> None:
        current = slot.active
        if current is not None and current.spec == spec:
            progress(f"unchanged: {deployment_name(spec.spec_hash)} is already active")
            return
        new, worker, upstream = self._prepare(slot, spec, progress)
        with slot.lock:
            active_file.save(self.layout.active_file(spec.key), new)
            slot.active = new
            self._sup.install(slot, worker, upstream, f"replaced by {worker.deployment}")
        progress(
            f"traffic switched to {worker.deployment} (pid {worker.pid}, port {upstream.port})"
        )
        self._disk.prune_deployments(spec.key)

    def _prepare(
        self, slot: Slot, spec: FunctionSpec, progress: ProgressSink
    ) -> tuple[ActiveDeployment, WorkerProcess, Upstream]:
        """Code on disk, built, a healthy worker started; a failure leaves no trace."""
        name = deployment_name(spec.spec_hash)
        try:
            code_dir, filename = build.materialise(self.layout, spec)
            progress(f"wrote {filename} to {code_dir}")
            new = ActiveDeployment(spec, filename)
            if driver(spec.runtime).builds:
                progress(f"building the {spec.runtime} worker (cached by code digest)")
                out = self._artifact(spec, code_dir)
                progress(f"{spec.runtime} build ready in {out}")
            progress(f"starting a worker for {name} ({self.toolchains.describe(spec.runtime)})")
            worker, upstream = self._sup.start_worker(slot, new)
        except StartFailedError as exc:
            self._disk.prune_deployments(spec.key)
            raise TargetError(
                f"{name} did not become healthy: {exc.message}\n{exc.output[-4000:]}".rstrip(),
                detail={"deployment": name, "output": exc.output[-4000:]},
            ) from exc
        except TargetError:
            self._disk.prune_deployments(spec.key)
            raise
        return new, worker, upstream

    def _artifact(self, spec: FunctionSpec, code_dir: Path) -> Path | None:
        toolchain = self.toolchains.get(spec.runtime)
        return build.ensure_artifact(self.layout, spec, code_dir, toolchain)

    def _launch(self, active: ActiveDeployment, port: int) -> Launch:
        spec = active.spec
        runtime = driver(spec.runtime)
        code_dir = self.layout.deployment_dir(spec.key, spec.spec_hash)
        argv = runtime.launch(self.toolchains.get(spec.runtime), self._artifact(spec, code_dir))
        env = worker_env(
            port=port,
            code_dir=code_dir,
            handler=spec.handler,
            function_name=spec.name,
            function_key=spec.key,
            memory_mb=spec.limits.memory_mb,
            timeout_ms=spec.limits.timeout_ms,
            host=HOST,
            path_prefix=endpoint_path(spec.key),
            user_env=spec.env.as_dict(),
            pycache_dir=self.layout.pycache,
        )
        prewarm = runtime.prewarm
        return Launch(
            key=spec.key,
            deployment=deployment_name(spec.spec_hash),
            host=HOST,
            port=port,
            argv=tuple(argv),
            env={**build.base_env(), **env},
            cwd=code_dir,
            pid_dir=self.layout.pid_dir(spec.key),
            use_spare=prewarm is not None and prewarm.can_configure(spec.env.as_dict()),
        )

    # --- cold start ----------------------------------------------------------------------
    async def _cold_start(self, key: str) -> Upstream:
        """One start per function however many requests wait for it."""
        future = self._starting.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._sup.pool, self._sup.ensure_ready, key)
            self._starting[key] = future
            future.add_done_callback(partial(self._cold_started, key))
        return await asyncio.shield(future)

    def _cold_started(self, key: str, future: asyncio.Future[Upstream]) -> None:
        if self._starting.get(key) is future:
            del self._starting[key]
        if not future.cancelled():
            future.exception()  # retrieved: waiters may all have gone

    # --- pre-started workers -------------------------------------------------------------
    def _spare_pools(self) -> dict[str, SparePool]:
        """One pool per runtime whose driver can pre-start workers (when toolchain is here)."""
        if not self.settings.prewarm_workers:
            return {}
        pools: dict[str, SparePool] = {}
        env = {**build.base_env(), **bytecode_env(self.layout.pycache)}
        for name, runtime in drivers().items():
            if runtime.prewarm is None or not self.toolchains.available(name):
                continue
            argv = runtime.launch(self.toolchains.get(name), None)
            pools[name] = SparePool(runtime.prewarm, argv, env, self.layout.spares)
        return pools

    def _active_specs(self) -> list[FunctionSpec]:
        """The deployed spec of every function (read by the artifact reference count)."""
        return [s.active.spec for s in list(self._sup.slots.values()) if s.active is not None]

    def _prune_artifacts(self, progress: ProgressSink) -> None:
        for digest in self._artifacts.prune():
            progress(f"removed the unused build {digest[:12]}")
