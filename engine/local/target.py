"""The local target: each function runs as a supervised worker process — in its own sandbox
(uid, namespaces, cgroup; serving on a Unix socket) where the machine allows it, else a plain
process on a loopback port.

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

from engine.catalog import BUILTIN_VERSIONS
from engine.errors import FunctionNotFound, TargetError
from engine.keys import check_key
from engine.local import active as active_file
from engine.local import build, hostcheck, netguard, preview
from engine.local.active import ActiveDeployment
from engine.local.addresses import where
from engine.local.artifacts import Artifacts
from engine.local.cgroups import CgroupTree
from engine.local.disk_state import DiskState
from engine.local.launch import Launch
from engine.local.launcher import Launcher
from engine.local.layout import Layout, deployment_name
from engine.local.logbook import LogBook
from engine.local.orphans import OrphanKiller, instance_of
from engine.local.process import StartFailedError, WorkerProcess
from engine.local.sandbox import SandboxHost
from engine.local.seccomp import program
from engine.local.slot import Slot
from engine.local.supervisor import Supervisor
from engine.local.toolchains import Toolchains
from engine.local.uids import UidPool
from engine.plan import Plan
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import InvokeFailure, ProgressSink, SecretOpener, TrafficView, Upstream
from runtimes.registry import driver

log = logging.getLogger(__name__)


class LocalTarget:
    name = "local"

    def __init__(self, settings: Settings, traffic: TrafficView, secrets: SecretOpener) -> None:
        self.settings = settings
        self.layout = Layout.under(settings.data_dir)
        self.toolchains = Toolchains()
        self.traffic = traffic
        self.sandbox = hostcheck.check(settings.sandbox)
        self.loopback = "allowed (no sandbox)"
        instance = instance_of(settings.data_dir)
        box_host = self._sandbox_host(instance)
        self._launcher = Launcher(
            settings,
            self.layout,
            self.toolchains,
            instance=instance,
            box_host=box_host,
            secrets=secrets,
        )
        spares = self._launcher.spare_pools(dict(BUILTIN_VERSIONS))
        self._sup = Supervisor(settings, self._launch, traffic, spares=spares)
        self._artifacts = Artifacts(self.layout, self._active_specs)
        cgroups = box_host.cgroups if box_host is not None else None
        killer = OrphanKiller(instance, cgroups, f"/{settings.sandbox_cgroup}/{instance}/")
        self._disk = DiskState(self.layout, self._sup, killer)
        self._starting: dict[str, asyncio.Future[Upstream]] = {}
        self._killed_at_start = self._disk.kill_orphans()  # nothing of ours runs yet
        self._disk.load_active()

    def _sandbox_host(self, instance: str) -> SandboxHost | None:
        support, settings = self.sandbox, self.settings
        if support.level != "full" or support.tools is None:
            if settings.sandbox == "strict":
                raise TargetError(f"LAMBDACLONE_SANDBOX=strict, but no sandbox: {support.reason}")
            log.warning(
                "SANDBOX OFF: functions run as plain processes of this user, with access to "
                "everything it can reach (%s); see docs/local-target.md",
                support.reason,
            )
            return None
        problem = netguard.install(settings.sandbox_uid_first, settings.sandbox_uid_count)
        if problem is not None and settings.sandbox == "strict":
            raise TargetError(f"LAMBDACLONE_SANDBOX=strict, but loopback is open: {problem}")
        if problem is not None:
            log.warning("sandboxed functions can reach this machine's local services: %s", problem)
        self.loopback = problem or "denied"
        return SandboxHost(
            tools=support.tools,
            cgroups=CgroupTree(settings.sandbox_cgroup, instance),
            uids=UidPool(
                settings.sandbox_run_dir, settings.sandbox_uid_first, settings.sandbox_uid_count
            ),
            seccomp=program(),
            cpu_quota_us=round(settings.sandbox_cpus * 100_000),
            pids_max=settings.sandbox_pids_max,
        )

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
        for outcome in self._disk.kill_orphans(key):
            progress(outcome)
        if function_dir.exists():
            shutil.rmtree(function_dir)
            progress(f"removed {function_dir}")
        elif slot is None:
            progress("nothing to remove")
        self._prune_artifacts(progress)

    def invoke_auth(self, key: str) -> str | None:
        slot = self._sup.slots.get(key)
        active = slot.active if slot is not None else None
        return active.spec.config.auth if active is not None else None

    async def upstream(self, key: str) -> Upstream:
        ready = self._sup.ready.get(key)
        if ready is not None:
            return ready
        return await self._cold_start(key)

    def warm_upstream(self, key: str) -> Upstream | None:
        """The ready worker of `key`, or None: never starts one (the Go data plane's routes)."""
        return self._sup.ready.get(key)

    def recover(self, progress: ProgressSink) -> None:
        self._disk.load_active()
        killed, self._killed_at_start = self._killed_at_start, []
        for outcome in killed + self._disk.kill_orphans():
            log.warning("crash recovery: %s", outcome)  # a crash left it: worth an operator's eye
            progress(outcome)
        for key in self._disk.function_keys():
            for removed in self._disk.prune_deployments(key):
                progress(f"{key}: removed unused {removed}")
        for leftover in self.layout.artifacts.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        self._prune_artifacts(progress)
        self._disk.fill_spares()

    def close(self) -> None:
        self._sup.close()
        if self._launcher.box_host is not None:
            self._launcher.box_host.cgroups.remove_if_empty()

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
        spec = slot.active.spec
        interpreter = self.toolchains.describe(spec.runtime, spec.runtime_version)
        with slot.lock:
            worker, health = slot.worker, slot.health
            box = worker.box if worker else None
            return {
                "state": health.state,
                "deployment": deployment_name(spec.spec_hash),
                "pid": worker.pid if worker else None,
                "port": worker.port if worker and box is None else None,
                "socket": worker.socket_path if worker else None,
                "uid": box.lease.uid if box else None,
                "sandbox": self.sandbox.level,
                "failures": health.failures,
                "last_exit": health.last_exit,
                "interpreter": interpreter,
            }

    def sandbox_status(self) -> dict[str, str]:
        """`{"level": "full", "loopback": "denied"}`, or `{"level": "off", "reason": …}`."""
        status = {"level": self.sandbox.level, "loopback": self.loopback}
        return status | ({"reason": self.sandbox.reason} if self.sandbox.reason else {})

    def runtime_versions(self) -> dict[str, str]:
        """The versions that really run functions here: runtime → version (`3.12.1`)."""
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
        progress(f"traffic switched to {worker.deployment} (pid {worker.pid}, {where(worker)})")
        self._disk.prune_deployments(spec.key)

    def _prepare(
        self, slot: Slot, spec: FunctionSpec, progress: ProgressSink
    ) -> tuple[ActiveDeployment, WorkerProcess, Upstream]:
        """Code on disk, built, a healthy worker started; a failure leaves no trace."""
        name = deployment_name(spec.spec_hash)
        try:
            toolchain = self.toolchains.get(spec.runtime, spec.runtime_version)
            code_dir, filename = build.materialise(self.layout, spec, progress, toolchain)
            progress(f"wrote {filename} to {code_dir}")
            new = ActiveDeployment(spec, filename)
            if driver(spec.runtime).builds:
                progress(f"building the {spec.runtime} worker (cached by code digest)")
                out = self._artifact(spec, code_dir)
                progress(f"{spec.runtime} build ready in {out}")
            interpreter = self.toolchains.describe(spec.runtime, spec.runtime_version)
            progress(f"starting a worker for {name} ({interpreter}, sandbox {self.sandbox.level})")
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
        return self._launcher.artifact(spec, code_dir)

    def _launch(self, active: ActiveDeployment, port: int) -> Launch:
        return self._launcher(active.spec, port)

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

    def _active_specs(self) -> list[FunctionSpec]:
        """The deployed spec of every function (read by the artifact reference count)."""
        return [s.active.spec for s in list(self._sup.slots.values()) if s.active is not None]

    def _prune_artifacts(self, progress: ProgressSink) -> None:
        for digest in self._artifacts.prune():
            progress(f"removed the unused build {digest[:12]}")
