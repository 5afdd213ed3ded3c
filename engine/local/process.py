"""Process I/O of the local target: spawn a worker (sandboxed or plain), capture its output,
stop it, and describe how it ended.

A sandboxed worker is a `Sandbox` (engine/local/sandbox.py): its own uid, mount and pid
namespaces and cgroup, serving on a Unix socket; stopping it stops its whole cgroup. A plain
worker (no sandbox on this machine) runs in its own session, so a stop reaches its process
group. Either way its environment carries the recovery marker (engine/local/orphans.py), so a
worker a crashed control plane left is found even if it was started an instant before the
crash. No `preexec_fn` (unsafe with threads), no `PR_SET_PDEATHSIG` (it fires when the *thread*
that started the worker ends).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from engine.local import handoff, sandbox
from engine.local.launch import Launch, Spare, new_worker_id
from engine.local.logbook import LogBook
from engine.local.orphans import Mark
from engine.local.sandbox import Sandbox, SandboxStartError

TAIL_LINES = 40
READ_BATCH_PAUSE_S = 0.005
MAX_PENDING_BYTES = 64 * 1024
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class StartFailedError(Exception):
    """The worker exited or never answered its health check; `output` is its last lines."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.message = message
        self.output = output


@dataclass(eq=False)
class WorkerProcess:
    """One running worker process of one deployment of a function."""

    key: str
    deployment: str
    worker_id: str
    host: str
    port: int
    popen: subprocess.Popen[bytes]
    box: Sandbox | None = None
    started_at: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stop_reason: str = ""
    readers: list[threading.Thread] = field(default_factory=list)
    convention: str = ""
    """What the wrapper's health check said the handler follows (`lambda`, `original`…)."""

    @property
    def pid(self) -> int:
        """The worker's host pid: the sandbox's pid 1 (tini), or the plain process."""
        return self.box.init_pid if self.box is not None else self.popen.pid

    @property
    def socket_path(self) -> str | None:
        return self.box.socket_path if self.box is not None else None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return "\n".join(self.tail)


def spawn(
    launch: Launch,
    logbook: LogBook,
    on_exit: Callable[[WorkerProcess], None],
    spare: Spare | None = None,
    worker_id: str | None = None,
) -> WorkerProcess:
    """Start the worker (or hand a pre-started spare its configuration); reader threads copy
    its output to `logbook`; `on_exit` runs once it has exited and been cleaned up. A spare
    that cannot take the function is discarded and a worker started with its id."""
    worker_id = worker_id or (spare.mark.worker if spare is not None else new_worker_id())
    if spare is not None and handoff.configure(spare, launch):
        popen, box = spare.popen, spare.box
    else:
        popen, box = _start(launch, Mark(launch.instance, launch.key, worker_id))
    worker = WorkerProcess(
        launch.key, launch.deployment, worker_id, launch.host, launch.port, popen, box
    )
    for name, stream in (("stdout", popen.stdout), ("stderr", popen.stderr)):
        assert stream is not None
        reader = threading.Thread(
            target=_copy_lines, args=(stream, name, worker, logbook), daemon=True
        )
        reader.start()
        worker.readers.append(reader)
    threading.Thread(target=_wait_exit, args=(worker, on_exit), daemon=True).start()
    return worker


def _start(launch: Launch, mark: Mark) -> tuple[subprocess.Popen[bytes], Sandbox | None]:
    env = {**launch.env, **mark.env()}
    if launch.box is None or launch.box_host is None:
        return start_plain(launch.argv, launch.cwd, env, subprocess.DEVNULL), None
    request = replace(launch.box, name=mark.cgroup_name)
    try:
        box = sandbox.start(launch.box_host, request, launch.argv, env, stdin=subprocess.DEVNULL)
    except SandboxStartError as exc:
        raise StartFailedError(str(exc), exc.output) from exc
    return box.popen, box


def start_plain(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdin: int
) -> subprocess.Popen[bytes]:
    """A worker without a sandbox: its own session (a stop reaches its process group), output
    piped, nothing inherited but `env`."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )


def _copy_lines(stream: IO[bytes], name: str, worker: WorkerProcess, logbook: LogBook) -> None:
    """Copy whole lines to the log, in batches: one read, one lock and one file write per
    wake-up, then a short pause so a busy worker's START/END/REPORT lines arrive together
    (fewer wake-ups competing with the event loop for the GIL)."""
    fd = stream.fileno()
    pending = b""
    with stream:
        while data := os.read(fd, 65536):
            *lines, pending = (pending + data).split(b"\n")
            if len(pending) > MAX_PENDING_BYTES:  # a huge line without newline: cut it
                lines.append(pending)
                pending = b""
            if lines:
                texts = [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]
                worker.tail.extend(texts)
                logbook.write_many(name, texts)
            time.sleep(READ_BATCH_PAUSE_S)
    if pending:
        text = pending.decode("utf-8", errors="replace")
        worker.tail.append(text)
        logbook.write_many(name, [text])


def _wait_exit(worker: WorkerProcess, on_exit: Callable[[WorkerProcess], None]) -> None:
    worker.popen.wait()
    if worker.box is not None:
        worker.box.finish()  # notes an OOM kill, empties and removes the cgroup
    for reader in worker.readers:
        reader.join(timeout=1.0)
    on_exit(worker)


def output_after_exit(worker: WorkerProcess) -> str:
    for reader in worker.readers:
        if worker.popen.poll() is not None:
            reader.join(timeout=0.5)
    return worker.output()


def terminate(worker: WorkerProcess, reason: str, grace_s: float = 2.0) -> None:
    """SIGTERM the worker (the sandbox's pid 1 forwards it), SIGKILL everything after
    `grace_s`; waits for the exit."""
    if not worker.stop_reason:
        worker.stop_reason = reason
    _signal(worker, signal.SIGTERM)
    try:
        worker.popen.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal(worker, signal.SIGKILL)
        worker.popen.wait()
    _signal(worker, signal.SIGKILL)  # anything the worker left behind


def kill_now(worker: WorkerProcess, reason: str) -> None:
    if not worker.stop_reason:
        worker.stop_reason = reason
    _signal(worker, signal.SIGKILL)


def _signal(worker: WorkerProcess, sig: signal.Signals) -> None:
    if worker.box is not None:
        if sig == signal.SIGKILL:
            worker.box.kill()
        else:
            worker.box.signal(sig)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker.popen.pid, sig)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` (from /proc/<pid>/statm), None once it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:  # noqa: PTH123 (hot, tiny)
            fields = handle.read().split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE_SIZE
