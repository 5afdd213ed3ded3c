"""Per-worker cgroups (v1: memory, cpu, pids, freezer): the limits a sandboxed worker runs
under, how it is killed as a whole (freeze, SIGKILL every member, thaw) and how recovery finds
the ones a dead control plane left (every directory under this data dir's base).

Layout, per controller: `/sys/fs/cgroup/<controller>/<our own cgroup>/<base>/<instance>/<name>`.
Nesting under the control plane's own cgroup keeps workers inside any limit it runs under; the
base is never `lambdaclone` (a kubelet of the test suite owns `/lambdaclone`); `instance`
names the data dir, so two control planes on one machine never touch each other's workers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "pids", "freezer")
_FROZEN_WAIT_S = 2.0
_EMPTY_WAIT_S = 5.0
_POLL_S = 0.002


class CgroupError(OSError):
    """A cgroup could not be created, configured or removed."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    cpu_quota_us: int
    pids_max: int
    cpu_period_us: int = 100_000


def own_paths(proc_cgroup: str) -> dict[str, str]:
    """controller → our cgroup path, from the text of `/proc/<pid>/cgroup` (v1 lines)."""
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            if name in CONTROLLERS:
                paths[name] = path
    return paths


def unusable_reason() -> str | None:
    """Why per-worker v1 cgroups cannot be used here (None: they can)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return "cgroup v2 (unified) hierarchy: only cgroup v1 is supported so far"
    try:
        paths = own_paths(Path("/proc/self/cgroup").read_text())
    except OSError as exc:
        return f"cannot read /proc/self/cgroup: {exc}"
    missing = [c for c in CONTROLLERS if c not in paths]
    if missing:
        return f"cgroup v1 controllers not mounted: {', '.join(missing)}"
    probe = f"lambdaclone-probe-{os.getpid()}"
    for controller in CONTROLLERS:
        path = CGROUP_ROOT / controller / paths[controller].lstrip("/") / probe
        try:
            path.mkdir()
            path.rmdir()
        except OSError as exc:
            return f"cannot create a {controller} cgroup: {exc}"
    return None


class CgroupTree:
    """The cgroups of one data dir's workers."""

    def __init__(self, base: str, instance: str) -> None:
        paths = own_paths(Path("/proc/self/cgroup").read_text())
        self.roots = {
            c: CGROUP_ROOT / c / paths[c].lstrip("/") / base / instance for c in CONTROLLERS
        }

    def create(self, name: str, limits: CgroupLimits) -> Cgroup:
        group = Cgroup({c: root / name for c, root in self.roots.items()})
        try:
            for path in group.dirs.values():
                path.mkdir(parents=True)
            group.set_memory(limits.memory_bytes)
            group.write("cpu", "cpu.cfs_period_us", limits.cpu_period_us)
            group.write("cpu", "cpu.cfs_quota_us", limits.cpu_quota_us)
            group.write("pids", "pids.max", limits.pids_max)
        except OSError as exc:
            group.remove()
            raise CgroupError(exc.errno, f"cgroup {name}: {exc}") from exc
        return group

    def names(self) -> list[str]:
        root = self.roots["pids"]
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def get(self, name: str) -> Cgroup:
        return Cgroup({c: root / name for c, root in self.roots.items()})

    def remove_if_empty(self) -> None:
        """The data dir's own directories, once no worker is left (on close)."""
        for root in self.roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()


@dataclass(frozen=True)
class Cgroup:
    dirs: dict[str, Path]

    @classmethod
    def of_process(cls, pid: int, marker: str) -> Cgroup | None:
        """The cgroup set `pid` is in, if its path contains `marker` (one of ours)."""
        try:
            paths = own_paths(Path(f"/proc/{pid}/cgroup").read_text())
        except (OSError, ValueError):
            return None
        if not all(marker in paths.get(c, "") for c in CONTROLLERS):
            return None
        return cls({c: CGROUP_ROOT / c / paths[c].lstrip("/") for c in CONTROLLERS})

    @property
    def name(self) -> str:
        return self.dirs["pids"].name

    def exists(self) -> bool:
        return self.dirs["pids"].is_dir()

    def write(self, controller: str, knob: str, value: int | str) -> None:
        (self.dirs[controller] / knob).write_text(str(value))

    def read(self, controller: str, knob: str) -> str:
        return (self.dirs[controller] / knob).read_text()

    def renamed(self, name: str) -> Cgroup:
        """The same cgroup under another name (cgroup v1 directories can be renamed in place;
        their members stay)."""
        moved = {c: path.with_name(name) for c, path in self.dirs.items()}
        for controller, path in self.dirs.items():
            path.rename(moved[controller])
        return Cgroup(moved)

    def set_memory(self, limit: int) -> None:
        """Memory and memory+swap to `limit` (no swap beyond it); memsw must stay ≥ memory,
        so it goes first when the limit rises. Lowering below the usage fails (EBUSY)."""
        knobs = ["memory.limit_in_bytes"]
        if (self.dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
            knobs.append("memory.memsw.limit_in_bytes")
        if limit > int(self.read("memory", "memory.limit_in_bytes")):
            knobs.reverse()
        for knob in knobs:
            self.write("memory", knob, limit)

    def attach(self, pid: int) -> None:
        for controller in CONTROLLERS:
            self.write(controller, "cgroup.procs", pid)

    def procs(self) -> list[int]:
        try:
            return [int(p) for p in self.read("pids", "cgroup.procs").split()]
        except OSError as exc:
            if _removed(exc):
                return []
            raise

    def oom_killed(self) -> bool:
        """Whether the kernel killed a member for the memory limit (`memory.failcnt` stays 0
        on some kernels; `oom_kill` in `memory.oom_control` does not)."""
        try:
            text = self.read("memory", "memory.oom_control")
            fields = dict(line.split() for line in text.splitlines())
        except (OSError, ValueError):  # removed: nothing to read
            return False
        return int(fields.get("oom_kill", "0")) > 0

    def memory_peak(self) -> int | None:
        try:
            return int(self.read("memory", "memory.max_usage_in_bytes"))
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """Freeze (no member can fork meanwhile), SIGKILL every member, thaw, wait until the
        cgroup is empty."""
        state = self.dirs["freezer"] / "freezer.state"
        try:
            state.write_text("FROZEN")
            _wait(lambda: state.read_text().strip() == "FROZEN", _FROZEN_WAIT_S)
            for pid in self.procs():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            state.write_text("THAWED")
        except OSError as exc:
            if not _removed(exc):  # removed meanwhile (another stop got there first): done
                raise
            return
        _wait(lambda: not self.procs(), _EMPTY_WAIT_S)

    def remove(self) -> None:
        """rmdir every controller's directory (retrying while a member is still exiting)."""
        for path in self.dirs.values():
            deadline = time.monotonic() + _EMPTY_WAIT_S
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        raise CgroupError(exc.errno, f"cannot remove {path}: {exc}") from exc
                    time.sleep(_POLL_S)


def _removed(exc: OSError) -> bool:
    """The error a cgroup file gives once its directory is gone (ENOENT, or ENODEV for a file
    opened before the rmdir)."""
    return exc.errno in (errno.ENOENT, errno.ENODEV)


def _wait(done: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(_POLL_S)
