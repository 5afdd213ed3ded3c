"""Pre-started workers ("spares") for runtimes whose driver supports it (`Prewarm`): they take
the interpreter start and the wrapper's imports off a cold start. One idle spare waits per
runtime; a start takes it and a new one is started behind it.

A spare is started like any worker — sandboxed where workers are — before it knows its
function: a sandboxed spare has its own uid, cgroup and socket directory, and an empty code
directory bound at /var/task; taking it copies the function's code there, sets the function's
memory limit and hands it its configuration on stdin (`process.spawn`). It is only used when
nothing in the function's environment matters to the interpreter at start-up
(`Prewarm.can_configure`); otherwise the worker is spawned. Spares carry the recovery marker
with the key `_spare` (engine/local/orphans.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.local import sandbox
from engine.local.handoff import discard_spare
from engine.local.launch import Spare, new_worker_id
from engine.local.orphans import SPARE, Mark
from engine.local.process import start_plain
from engine.local.sandbox import BoxRequest, SandboxHost, SandboxStartError
from runtimes.driver import Prewarm

SPARE_MEMORY_BYTES = 256 * 1024 * 1024
"""A sandboxed spare's limit until it is taken (then the function's own)."""


@dataclass(frozen=True)
class SparePlan:
    """How this runtime's spares start."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    instance: str
    spares_dir: Path
    ro_paths: tuple[Path, ...] = ()
    box_host: SandboxHost | None = None


def start_spare(plan: SparePlan, mark: Mark) -> Spare:
    env = {**plan.env, **mark.env()}
    plan.spares_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if plan.box_host is None:
        return Spare(start_plain(plan.argv, plan.spares_dir, env, subprocess.PIPE), mark)
    task_dir = plan.spares_dir / mark.worker
    task_dir.mkdir(mode=0o755)
    task_dir.chmod(0o755)
    request = BoxRequest(
        name=mark.cgroup_name,
        memory_bytes=SPARE_MEMORY_BYTES,
        code_dir=task_dir,
        ro_paths=plan.ro_paths,
        owned_dirs=(task_dir,),
    )
    try:
        box = sandbox.start(plan.box_host, request, plan.argv, env, stdin=subprocess.PIPE)
    except BaseException:
        shutil.rmtree(task_dir, ignore_errors=True)
        raise
    return Spare(box.popen, mark, box, task_dir)


class SparePool:
    """At most one idle spare; thread-safe."""

    def __init__(self, prewarm: Prewarm, plan: SparePlan) -> None:
        self.prewarm = prewarm
        self._plan = plan
        self._spare: Spare | None = None
        self._starting: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def worker_ids(self) -> set[str]:
        """The idle spare's id and the one being started (recovery must not kill them)."""
        with self._lock:
            idle = {self._spare.mark.worker} if self._spare is not None else set()
            return idle | self._starting

    def pid(self) -> int | None:
        """The idle spare's host pid (the sandbox's pid 1, or the process)."""
        with self._lock:
            spare = self._spare
        if spare is None:
            return None
        return spare.box.init_pid if spare.box is not None else spare.popen.pid

    def take(self) -> Spare | None:
        """The idle spare (the caller now owns it), or None; a new one is started behind it."""
        with self._lock:
            spare, self._spare = self._spare, None
        self.fill()
        if spare is None:
            return None
        if spare.popen.poll() is not None:
            discard_spare(spare)
            return None
        return spare

    def fill(self) -> None:
        """Start a spare in the background unless one is waiting."""
        with self._lock:
            if self._spare is not None or self._closed:
                return
        threading.Thread(target=self._start, name="lambdaclone-spare", daemon=True).start()

    def _start(self) -> None:
        mark = Mark(self._plan.instance, SPARE, new_worker_id())
        with self._lock:
            self._starting.add(mark.worker)
        spare: Spare | None = None
        with contextlib.suppress(OSError, SandboxStartError):  # none: starts spawn their worker
            spare = start_spare(self._plan, mark)
        with self._lock:
            self._starting.discard(mark.worker)
            if spare is not None and self._spare is None and not self._closed:
                self._spare, spare = spare, None
        if spare is not None:
            discard_spare(spare)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            discard_spare(spare)
