"""Starting, signalling and tearing down one sandboxed worker (the argv: `sandbox_argv.py`).

Start, race-free and without `preexec_fn`: create the worker's cgroup → lease a uid and its
socket directory → start bwrap, which reports the host pid of the sandbox's pid 1 on
`--info-fd` and then waits on `--block-fd` before it runs anything → put that pid into the
cgroup → release it. Everything the worker ever forks is born inside the cgroup. EOF on the
block pipe would release it too, so on any error pid 1 is killed before that pipe is closed.

Stop: SIGTERM to pid 1 (tini forwards it to the worker's process group), SIGKILL after the
grace period (the kernel then kills the whole pid namespace, `setsid` children included), then
a freeze-kill of whatever the cgroup still holds. Signals go through a pidfd, so a recycled pid
is never hit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.local.cgroups import Cgroup, CgroupError, CgroupLimits, CgroupTree
from engine.local.orphans import MARKER
from engine.local.sandbox_argv import BoxFds, BoxSpec, Tools, account_files, bwrap_argv
from engine.local.uids import Lease, UidPool


class SandboxStartError(RuntimeError):
    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class SandboxHost:
    """What this machine gives every sandbox (found once by `engine.local.hostcheck`)."""

    tools: Tools
    cgroups: CgroupTree
    uids: UidPool
    seccomp: bytes | None
    cpu_quota_us: int
    pids_max: int


@dataclass(frozen=True)
class BoxRequest:
    """One worker's sandbox: its cgroup name, memory, code and read-only paths."""

    name: str
    memory_bytes: int
    code_dir: Path
    ro_paths: tuple[Path, ...]
    owned_dirs: tuple[Path, ...] = ()
    """Removed with the sandbox (a pre-started worker's code directory)."""
    opt_dir: Path | None = None
    """The function's layers (`engine.local.layers`), bound read-only at /opt."""


@dataclass(eq=False)
class Sandbox:
    popen: subprocess.Popen[bytes]
    init_pid: int
    pidfd: int
    cgroup: Cgroup
    lease: Lease
    host: SandboxHost
    owned_dirs: tuple[Path, ...] = ()
    oom_killed: bool = False
    _finished: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def socket_path(self) -> str:
        return str(self.lease.socket_path)

    def signal(self, sig: signal.Signals) -> None:
        with self._lock:
            if not self._finished:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(self.pidfd, sig)

    def kill(self) -> None:
        """SIGKILL pid 1 (the whole pid namespace dies) and anything left in the cgroup."""
        self.signal(signal.SIGKILL)
        with self._lock:
            if not self._finished:
                self.cgroup.kill_all()

    def set_memory(self, limit: int) -> None:
        self.cgroup.set_memory(limit)

    def rename(self, name: str) -> None:
        """A pre-started worker becomes a function's: its cgroup takes the function's name."""

        def move() -> Path:
            self.cgroup = self.cgroup.renamed(name)
            return self.cgroup.dirs["pids"]

        with self._lock:
            if not self._finished:
                self.host.uids.move(self.lease, move)

    def finish(self) -> None:
        """After bwrap exited: note an OOM kill, empty and remove the cgroup, free the uid.
        Idempotent."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self.oom_killed = self.cgroup.oom_killed()
            self.cgroup.kill_all()
            with contextlib.suppress(CgroupError):
                self.cgroup.remove()
            os.close(self.pidfd)
        self.host.uids.release(self.lease)
        for path in self.owned_dirs:
            shutil.rmtree(path, ignore_errors=True)


def start(
    host: SandboxHost,
    request: BoxRequest,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: int,
) -> Sandbox:
    """Start `argv` in a new sandbox; raises `SandboxStartError` (nothing left behind)."""
    limits = CgroupLimits(request.memory_bytes, host.cpu_quota_us, host.pids_max)
    try:
        group = host.cgroups.create(request.name, limits)
    except CgroupError as exc:
        raise SandboxStartError(f"cannot create the worker's cgroup: {exc}") from exc
    try:
        lease = host.uids.lease(group.dirs["pids"])
    except (OSError, RuntimeError) as exc:
        _drop_group(group)
        raise SandboxStartError(f"cannot lease a sandbox uid: {exc}") from exc
    try:
        return _launch(host, request, group, lease, argv=argv, env=env, stdin=stdin)
    except BaseException:
        _drop_group(group)
        host.uids.release(lease)
        raise


def _launch(
    host: SandboxHost,
    request: BoxRequest,
    group: Cgroup,
    lease: Lease,
    *,
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: int,
) -> Sandbox:
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    passwd, groups = account_files(lease.uid)
    inherited = [info_w, block_r, _data_pipe(passwd), _data_pipe(groups)]
    if host.seccomp is not None:
        inherited.append(_data_pipe(host.seccomp))
    seccomp_fd = inherited[4] if host.seccomp is not None else None
    fds = BoxFds(info_w, block_r, inherited[2], inherited[3], seccomp_fd)
    spec = BoxSpec(
        uid=lease.uid,
        code_dir=str(request.code_dir),
        ro_paths=tuple(str(p) for p in request.ro_paths),
        socket_dir=str(lease.socket_dir),
        tmp_bytes=request.memory_bytes,
        unset_env=(MARKER,),
        opt_dir=str(request.opt_dir) if request.opt_dir is not None else None,
    )
    try:
        popen = subprocess.Popen(
            bwrap_argv(spec, fds, host.tools, argv),
            env=dict(env),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            pass_fds=inherited,
        )
    except OSError:
        for fd in (info_r, block_w):
            os.close(fd)
        raise
    finally:
        for fd in inherited:
            os.close(fd)
    init_pid, pidfd = 0, -1
    try:
        with os.fdopen(info_r, "rb") as info:
            init_pid = int(json.loads(info.read() or b"{}")["child-pid"])
        pidfd = os.pidfd_open(init_pid)
        group.attach(init_pid)
        os.write(block_w, b"x")
    except (OSError, ValueError, KeyError) as exc:
        if init_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init_pid, signal.SIGKILL)  # before the block pipe's EOF releases it
        if pidfd >= 0:
            os.close(pidfd)
        os.close(block_w)
        raise SandboxStartError(f"bwrap failed to start the sandbox: {exc}", _reap(popen)) from exc
    os.close(block_w)
    return Sandbox(popen, init_pid, pidfd, group, lease, host, request.owned_dirs)


def _data_pipe(data: bytes) -> int:
    """A pipe holding `data` (small: fits the pipe buffer), for bwrap's `--*-data FD`."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


def _reap(popen: subprocess.Popen[bytes]) -> str:
    with contextlib.suppress(ProcessLookupError):
        popen.kill()
    _, err = popen.communicate()
    return err.decode("utf-8", "replace").strip()


def _drop_group(group: Cgroup) -> None:
    group.kill_all()
    with contextlib.suppress(CgroupError):
        group.remove()
