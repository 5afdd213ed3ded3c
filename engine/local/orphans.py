"""Finding and killing the workers a dead control plane left, by what marks them rather than by
a pid file (a worker started in the instant before a crash has none):

- every worker process is started with `LAMBDACLONE_WORKER=<instance>:<key>:<worker id>` in its
  environment. A sandboxed worker's marker sits on bwrap's own process (root's: the function can
  neither see nor change it; bwrap unsets it for the worker), which lives as long as its sandbox;
- every sandboxed worker lives in the cgroup `<base>/<instance>/<key>.<worker id>`, which no
  process can leave.

`instance` names the data dir, so control planes with different data dirs never touch each
other's workers. Recovery kills everything of its instance that it does not run itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.local.cgroups import Cgroup, CgroupError, CgroupTree

MARKER = "LAMBDACLONE_WORKER"
SPARE = "_spare"
"""The key part of a pre-started worker's marker (no function key has an underscore)."""


def instance_of(data_dir: Path) -> str:
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Mark:
    instance: str
    key: str
    worker: str

    def env(self) -> dict[str, str]:
        return {MARKER: f"{self.instance}:{self.key}:{self.worker}"}

    @property
    def cgroup_name(self) -> str:
        return f"{self.key}.{self.worker}"

    @classmethod
    def parse(cls, value: str) -> Mark | None:
        parts = value.split(":")
        return cls(*parts) if len(parts) == 3 and all(parts) else None


@dataclass(frozen=True)
class Marked:
    pid: int
    mark: Mark


def marked_processes(instance: str) -> Iterator[Marked]:
    """Every process whose environment carries a marker of `instance`."""
    needle = f"{MARKER}={instance}:".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:  # noqa: PTH123
                environ = handle.read()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(needle):
                mark = Mark.parse(item.split(b"=", 1)[1].decode("utf-8", "replace"))
                if mark is not None:
                    yield Marked(int(entry.name), mark)
                break


def children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


class OrphanKiller:
    """Kills the instance's workers that are not in `keep` (worker ids)."""

    def __init__(self, instance: str, cgroups: CgroupTree | None, cgroup_marker: str) -> None:
        self.instance = instance
        self.cgroups = cgroups
        self._cgroup_marker = cgroup_marker

    def kill(self, keep: Collection[str], key: str | None = None) -> list[str]:
        """Kill them (only `key`'s, if given); returns one line per worker killed."""
        outcomes: list[str] = []
        by_worker: dict[str, list[Marked]] = {}
        for found in marked_processes(self.instance):
            if found.mark.worker not in keep and key in (None, found.mark.key):
                by_worker.setdefault(found.mark.worker, []).append(found)
        owners = self._cgroup_owners()
        for worker, processes in sorted(by_worker.items()):
            self._kill_processes(processes)
            pids = ", ".join(str(p.pid) for p in processes)
            owner = owners.get(worker, processes[0].mark.key)
            outcomes.append(f"killed orphan worker {worker} ({owner}; pid {pids})")
        outcomes += self._kill_cgroups(keep, key, done=set(by_worker))
        return outcomes

    def _cgroup_owners(self) -> dict[str, str]:
        """worker id → the key its cgroup names: a taken spare keeps its `_spare` mark, but its
        cgroup was renamed to the function's."""
        if self.cgroups is None:
            return {}
        return {w: k for k, _, w in (n.rpartition(".") for n in self.cgroups.names())}

    def _kill_processes(self, processes: list[Marked]) -> None:
        """A sandbox's cgroup first (everything inside dies at once), then the processes
        themselves (bwrap's monitor, or a plain worker and whatever still carries the mark)."""
        for found in processes:
            for child in [found.pid, *children(found.pid)]:
                group = Cgroup.of_process(child, self._cgroup_marker)
                if group is not None:
                    _kill_group(group)
        for found in processes:
            for child in children(found.pid):
                _signal(child, signal.SIGKILL)
            _signal(found.pid, signal.SIGKILL)

    def _kill_cgroups(self, keep: Collection[str], key: str | None, done: set[str]) -> list[str]:
        if self.cgroups is None:
            return []
        outcomes = []
        for name in self.cgroups.names():
            owner, _, worker = name.rpartition(".")
            if worker in keep or key not in (None, owner):
                continue
            group = self.cgroups.get(name)
            had = group.procs()
            _kill_group(group)
            if worker not in done and had:
                outcomes.append(f"killed orphan worker {worker} ({owner}; cgroup, pid {had})")
        return outcomes


def _kill_group(group: Cgroup) -> None:
    group.kill_all()
    with contextlib.suppress(CgroupError):
        group.remove()


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
