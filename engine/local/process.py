"""Process I/O of the local target: spawn a worker, capture its output, probe its health,
measure its memory, stop it, and find the ones a dead control plane left behind.

Workers run in their own session (process group) so a stop reaches anything they spawned.
No `preexec_fn` (it forces fork instead of vfork and is unsafe with threads), no
`PR_SET_PDEATHSIG` (it fires when the *thread* that started the worker ends, and workers are
started from short-lived threads); orphans are found through pid files instead (`recover`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from engine.local.logbook import LogBook
from runtimes.contract import HEALTH_PATH

TAIL_LINES = 40
READ_BATCH_PAUSE_S = 0.005
MAX_PENDING_BYTES = 64 * 1024
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.02


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
    host: str
    port: int
    popen: subprocess.Popen[bytes]
    pid_file: Path
    started_at: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stop_reason: str = ""
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return "\n".join(self.tail)


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one worker."""

    key: str
    deployment: str
    host: str
    port: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    pid_dir: Path
    use_spare: bool = False


def spawn(
    launch: Launch,
    logbook: LogBook,
    on_exit: Callable[[WorkerProcess], None],
    spare: subprocess.Popen[bytes] | None = None,
) -> WorkerProcess:
    """Start the worker (or hand a pre-started spare its configuration); reader threads copy
    its output to `logbook`; `on_exit` runs once it has exited."""
    if spare is not None:
        popen = _configure_spare(spare, launch)
    else:
        popen = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=dict(launch.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    pid_file = launch.pid_dir / f"{popen.pid}.json"
    worker = WorkerProcess(launch.key, launch.deployment, launch.host, launch.port, popen, pid_file)
    write_pid_file(worker)
    for name, stream in (("stdout", popen.stdout), ("stderr", popen.stderr)):
        assert stream is not None
        reader = threading.Thread(
            target=_copy_lines, args=(stream, name, worker, logbook), daemon=True
        )
        reader.start()
        worker.readers.append(reader)
    threading.Thread(target=_wait_exit, args=(worker, on_exit), daemon=True).start()
    return worker


def _configure_spare(spare: subprocess.Popen[bytes], launch: Launch) -> subprocess.Popen[bytes]:
    assert spare.stdin is not None
    config = {"env": dict(launch.env), "cwd": str(launch.cwd)}
    try:
        spare.stdin.write(json.dumps(config).encode() + b"\n")
        spare.stdin.close()
    except OSError:
        pass  # it died meanwhile: wait_healthy reports its exit and output
    return spare


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
    for reader in worker.readers:
        reader.join(timeout=1.0)
    remove_pid_file(worker.pid_file)
    on_exit(worker)


def wait_healthy(worker: WorkerProcess, timeout_s: float) -> None:
    """Poll the health endpoint until 200; raise `StartFailedError` on exit or timeout."""
    deadline = time.monotonic() + timeout_s
    delay = _POLL_FIRST_S
    last = "no answer"
    while True:
        code = worker.popen.poll()
        if code is not None:
            raise StartFailedError(
                f"worker exited with code {code} before it was healthy", _out(worker)
            )
        status, body = probe(worker.host, worker.port, timeout_s=1.0)
        if status == 200:
            return
        if status is not None and status != 503:  # 503: still loading; anything else: failed
            raise StartFailedError(_load_error(status, body), _out(worker))
        if status is not None:
            last = f"health answered {status}: {body[:500]}"
        if time.monotonic() >= deadline:
            raise StartFailedError(
                f"worker not healthy after {timeout_s:g}s ({last})", _out(worker)
            )
        time.sleep(delay)
        delay = min(_POLL_MAX_S, delay * 1.5)


def _load_error(status: int, body: str) -> str:
    """The wrapper's `{errorType, errorMessage}` from a failed health check, else the body."""
    try:
        error = json.loads(body)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (ValueError, KeyError, TypeError):
        return f"health check answered {status}: {body[:500]}"


def _out(worker: WorkerProcess) -> str:
    for reader in worker.readers:
        if worker.popen.poll() is not None:
            reader.join(timeout=0.5)
    return worker.output()


def probe(host: str, port: int, timeout_s: float) -> tuple[int | None, str]:
    """One HTTP/1.0 GET of the health path: (status, body), or (None, reason) if unreachable."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(f"GET {HEALTH_PATH} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = _read_all(sock)
    except OSError as exc:
        return None, str(exc)
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None, "malformed health response"
    return int(parts[1]), body.decode("utf-8", errors="replace")


def _read_all(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def terminate(worker: WorkerProcess, reason: str, grace_s: float = 2.0) -> None:
    """SIGTERM the worker's process group, SIGKILL it after `grace_s`; waits for the exit."""
    if not worker.stop_reason:
        worker.stop_reason = reason
    _signal_group(worker.pid, signal.SIGTERM)
    try:
        worker.popen.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal_group(worker.pid, signal.SIGKILL)
        worker.popen.wait()
    _signal_group(worker.pid, signal.SIGKILL)  # anything the worker left in its group


def kill_now(worker: WorkerProcess, reason: str) -> None:
    if not worker.stop_reason:
        worker.stop_reason = reason
    _signal_group(worker.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` (from /proc/<pid>/statm), None once it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:  # noqa: PTH123 (hot, tiny)
            fields = handle.read().split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE_SIZE


# --- pid files: orphans of a dead control plane ----------------------------------------------
def process_start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot; tells a recycled pid from ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def write_pid_file(worker: WorkerProcess) -> None:
    write_pid_record(worker.pid_file, worker.pid, worker.port, worker.deployment)


def write_pid_record(path: Path, pid: int, port: int, deployment: str) -> None:
    record = {
        "pid": pid,
        "start_ticks": process_start_ticks(pid),
        "port": port,
        "deployment": deployment,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def remove_pid_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def kill_orphan(pid_file: Path) -> str:
    """Kill the worker a pid file names if it is still the same process; remove the file."""
    try:
        record = json.loads(pid_file.read_text())
        pid, ticks = int(record["pid"]), record.get("start_ticks")
    except (OSError, ValueError, KeyError, TypeError):
        remove_pid_file(pid_file)
        return "unreadable pid file removed"
    outcome = "already gone"
    if ticks is not None and process_start_ticks(pid) == ticks:
        _signal_group(pid, signal.SIGKILL)
        outcome = f"killed orphan worker pid {pid}"
    remove_pid_file(pid_file)
    return outcome
