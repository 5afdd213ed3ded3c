"""The local target: each function runs as a supervised worker process on a loopback port.

`apply` writes the revision's code, builds it (Go), starts a worker beside the current one and
switches traffic only once the new one is healthy; `upstream` is the invoke hot path (a dict
lookup when warm, a cold start off the event loop when scaled to zero). See docs/local-target.md.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from functools import partial
from pathlib import Path

from engine.errors import FunctionNotFound, InvalidInput, TargetError, ToolMissing
from engine.local import active as active_file
from engine.local import build, preview, process
from engine.local.active import ActiveRevision, CorruptActiveRecordError
from engine.local.binaries import GoBinaries
from engine.local.interpreters import Interpreters
from engine.local.layout import Layout, is_safe_key, revision_name
from engine.local.logbook import LogBook
from engine.local.process import Launch, StartFailedError, Worker
from engine.local.slot import Slot
from engine.local.spares import SparePool, can_use_spare
from engine.local.supervisor import HOST, Supervisor
from engine.plan import Plan
from engine.settings import Settings
from engine.spec import FunctionSpec
from engine.target import InvokeFailure, ProgressSink, Upstream
from runtimes import launch

log = logging.getLogger(__name__)


class LocalTarget:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.layout = Layout.under(settings.data_dir)
        spares = (
            SparePool(
                sys.executable,
                launch.PYTHON_WRAPPER,
                pycache=self.layout.root / "pycache",
                pid_dir=self.layout.spares,
            )
            if settings.prewarm_python
            else None
        )
        self._sup = Supervisor(settings, self._launch, spares=spares)
        self._binaries = GoBinaries(self.layout, self._active_specs)
        self._interpreters = Interpreters()
        self._starting: dict[str, asyncio.Future[Upstream]] = {}
        self._load_active()

    # --- the Target protocol -------------------------------------------------------------
    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        return preview.plan(current, desired)

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        _check_key(spec.key)
        slot = self._locked_slot(spec.key)
        try:
            with self._binaries.pinned(spec):
                self._apply(slot, spec, progress)
        finally:
            slot.op_lock.release()
            self._prune_binaries(progress)  # an update may leave the previous binary unused

    def destroy(self, key: str, progress: ProgressSink) -> None:
        _check_key(key)
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
        for outcome in self._kill_orphans(key, keep=set()):
            progress(outcome)
        if function_dir.exists():
            shutil.rmtree(function_dir)
            progress(f"removed {function_dir}")
        elif slot is None:
            progress("nothing to remove")
        self._prune_binaries(progress)

    async def upstream(self, key: str) -> Upstream:
        ready = self._sup.ready.get(key)
        if ready is not None:
            return ready
        return await self._cold_start(key)

    def recover(self, progress: ProgressSink) -> None:
        self._load_active()
        for function_dir in sorted(self._function_dirs()):
            if not function_dir.is_dir() or not is_safe_key(function_dir.name):
                continue
            key = function_dir.name
            for outcome in self._kill_orphans(key, keep=self._live_pids(key)):
                progress(f"{key}: {outcome}")
            for removed in self._prune_revisions(key):
                progress(f"{key}: removed unused {removed}")
        for leftover in self.layout.go_cache.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        self._prune_binaries(progress)
        self._kill_orphan_spares(progress)

    def _kill_orphan_spares(self, progress: ProgressSink) -> None:
        spares = self._sup.spares
        own = spares.pid() if spares is not None else None
        for pid_file in sorted(self.layout.spares.glob("*.json")):
            if pid_file.stem != str(own):
                progress(f"spare: {process.kill_orphan(pid_file)}")
        if spares is not None and any(
            slot.active is not None and slot.active.spec.runtime == "python"
            for slot in self._sup.slots.values()
        ):
            spares.fill()

    def close(self) -> None:
        self._sup.close()

    # --- extras: logs, status, proxy feedback --------------------------------------------
    def logs(self, key: str, limit: int) -> list[dict[str, object]]:
        _check_key(key)
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
        interpreter = self._interpreter(slot.active.spec.runtime)
        with slot.lock:
            worker, st = slot.worker, slot.status
            return {
                "state": st.state,
                "revision": revision_name(slot.active.spec.spec_hash),
                "pid": worker.pid if worker else None,
                "port": worker.port if worker else None,
                "failures": st.failures,
                "last_exit": st.last_exit,
                "interpreter": interpreter,
            }

    def runtime_versions(self) -> dict[str, str]:
        """The versions that really run functions here — the machine's python (the control
        plane's own), node and go, not the catalog's: `{"python": "3.11.7", ...}`."""
        return self._interpreters.all()

    def _interpreter(self, runtime: str) -> str:
        return f"{runtime} {self._interpreters.version(runtime)}"

    def invoke_failed(self, key: str, upstream: Upstream, failure: InvokeFailure) -> None:
        self._sup.invoke_failed(key, upstream, failure)

    def invoke_overran(self, key: str, upstream: Upstream) -> None:
        """The proxy's `OverrunFeedback`: a request ran past timeout + grace; restart its worker."""
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
            progress(f"unchanged: {revision_name(spec.spec_hash)} is already active")
            return
        new, worker, upstream = self._prepare(slot, spec, progress)
        with slot.lock:
            active_file.save(self.layout.active_file(spec.key), new)
            slot.active = new
            self._sup.install(slot, worker, upstream, f"replaced by {worker.revision}")
        progress(f"traffic switched to {worker.revision} (pid {worker.pid}, port {upstream.port})")
        self._prune_revisions(spec.key)

    def _prepare(
        self, slot: Slot, spec: FunctionSpec, progress: ProgressSink
    ) -> tuple[ActiveRevision, Worker, Upstream]:
        """Code on disk, built, a healthy worker started; a failure leaves no trace."""
        rev = revision_name(spec.spec_hash)
        try:
            rev_dir, filename = build.materialise(self.layout, spec)
            progress(f"wrote {filename} to {rev_dir}")
            new = ActiveRevision(spec, filename)
            if spec.runtime == "golang":
                progress("compiling the Go worker (cached by code digest)")
                build_dir = build.ensure_go_binary(self.layout, spec, rev_dir)
                progress(f"Go worker binary ready in {build_dir}")
            progress(f"starting a worker for {rev} ({self._interpreter(spec.runtime)})")
            worker, upstream = self._sup.start_worker(slot, new)
        except StartFailedError as exc:
            self._prune_revisions(spec.key)
            raise TargetError(
                f"{rev} did not become healthy: {exc.message}\n{exc.output[-4000:]}".rstrip(),
                detail={"revision": rev, "output": exc.output[-4000:]},
            ) from exc
        except TargetError:
            self._prune_revisions(spec.key)
            raise
        return new, worker, upstream

    def _launch(self, active: ActiveRevision, port: int) -> Launch:
        spec = active.spec
        rev_dir = self.layout.revision_dir(spec.key, spec.spec_hash)
        build_dir = (
            build.ensure_go_binary(self.layout, spec, rev_dir) if spec.runtime == "golang" else None
        )
        node = _node() if spec.runtime == "node" else "node"
        argv = launch.worker_command(
            spec.runtime, code_dir=rev_dir, build_dir=build_dir, python=sys.executable, node=node
        )
        env = launch.worker_env(
            port=port,
            code_dir=rev_dir,
            handler=spec.handler,
            function_name=spec.name,
            function_key=spec.key,
            version=revision_name(spec.spec_hash),
            memory_mb=spec.limits.memory_mb,
            timeout_ms=spec.limits.timeout_ms,
            host=HOST,
            path_prefix=f"/endpoint/{spec.key}",
            user_env=spec.env_dict,
            pycache_dir=self.layout.root / "pycache",
        )
        return Launch(
            key=spec.key,
            revision=revision_name(spec.spec_hash),
            host=HOST,
            port=port,
            argv=tuple(argv),
            env={**build.base_env(), **env},
            cwd=rev_dir,
            pid_dir=self.layout.pid_dir(spec.key),
            use_spare=spec.runtime == "python" and can_use_spare(spec.env_dict),
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

    # --- disk state ----------------------------------------------------------------------
    def _function_dirs(self) -> list[Path]:
        functions = self.layout.functions
        return list(functions.iterdir()) if functions.exists() else []

    def _load_active(self) -> None:
        for function_dir in sorted(self._function_dirs()):
            key = function_dir.name
            if not is_safe_key(key) or key in self._sup.slots:
                continue
            try:
                record = active_file.load(self.layout.active_file(key))
            except CorruptActiveRecordError as exc:
                log.warning("ignoring the local state of %s: %s", key, exc)
                continue
            if record is not None:
                slot = Slot(key, LogBook(self.layout.log_file(key)), active=record)
                self._sup.slots.setdefault(key, slot)

    def _active_specs(self) -> list[FunctionSpec]:
        """The deployed spec of every function (read by the Go binary reference count)."""
        return [s.active.spec for s in list(self._sup.slots.values()) if s.active is not None]

    def _prune_binaries(self, progress: ProgressSink) -> None:
        for digest in self._binaries.prune():
            progress(f"removed the unused Go binary {digest[:12]}")

    def _live_pids(self, key: str) -> set[int]:
        slot = self._sup.slots.get(key)
        if slot is None:
            return set()
        with slot.lock:
            workers = [d.worker for d in slot.draining] + ([slot.worker] if slot.worker else [])
            return {w.pid for w in workers}

    def _kill_orphans(self, key: str, keep: set[int]) -> list[str]:
        pid_dir = self.layout.pid_dir(key)
        if not pid_dir.exists():
            return []
        return [
            process.kill_orphan(pid_file)
            for pid_file in sorted(pid_dir.glob("*.json"))
            if pid_file.stem.isdigit() and int(pid_file.stem) not in keep
        ]

    def _prune_revisions(self, key: str) -> list[str]:
        """Remove revision directories no worker uses and that are not active."""
        slot = self._sup.slots.get(key)
        keep: set[str] = set()
        if slot is not None:
            with slot.lock:
                if slot.active is not None:
                    keep.add(revision_name(slot.active.spec.spec_hash))
                workers = [d.worker for d in slot.draining]
                keep.update(w.revision for w in workers)
                if slot.worker is not None:
                    keep.add(slot.worker.revision)
        removed = []
        for path in self.layout.function_dir(key).glob("*rev-*"):
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed


def _check_key(key: str) -> None:
    if not is_safe_key(key):
        raise InvalidInput(f"invalid function key {key!r}", field="key")


def _node() -> str:
    found = shutil.which("node")
    if found is None:
        raise ToolMissing("the node runtime needs the `node` command on PATH")
    return found
