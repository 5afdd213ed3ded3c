"""One FerretDB process: start it on the store's socket, wait until it accepts, stop it.

It listens on the Unix socket only (`-listen-addr=` turns TCP off) and its standard input is the
read end of the supervisor's lifeline pipe (`-lifeline-stdin`): the server stops as soon as no
process holds the write end any more. Only the control plane holds it (the descriptor is
close-on-exec, so neither FerretDB nor any worker inherits it), and the kernel closes it when the
control plane dies, even by SIGKILL. Unlike `PR_SET_PDEATHSIG` this is not tied to the thread
that started the server and has no window between fork and exec, and it needs no `preexec_fn`
(unsafe in a process with threads).

The server runs in its own session, so a Ctrl-C in the terminal reaches only the control plane,
which then stops the store last, after the parts that still write to it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

from engine.embedded.layout import StoreLayout
from engine.errors import StoreUnavailable
from engine.files import PRIVATE_FILE

STOP_GRACE_S = 10.0
_READY_POLL_S = 0.02
_LOG_TAIL_BYTES = 2000


def spawn(binary: Path, layout: StoreLayout, lifeline: int) -> subprocess.Popen[bytes]:
    """Start FerretDB on `layout`; a socket file left by a killed server is removed first (the
    caller holds the store's lock, so no live server owns it)."""
    layout.socket.unlink(missing_ok=True)
    log = os.open(layout.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        return subprocess.Popen(
            [
                str(binary),
                "-listen-addr=",
                f"-listen-unix={layout.socket}",
                "-lifeline-stdin",
                f"-sqlite-url={layout.sqlite_url}",
            ],
            stdin=lifeline,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=layout.root,
            umask=0o077,
            start_new_session=True,
        )
    finally:
        os.close(log)


def wait_ready(proc: subprocess.Popen[bytes], layout: StoreLayout, timeout_s: float) -> None:
    """Returns once the socket accepts connections; raises if the server exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StoreUnavailable(f"ferretdb exited with {proc.returncode}: {log_tail(layout)}")
        if accepts(layout.socket):
            return
        time.sleep(_READY_POLL_S)
    raise StoreUnavailable(
        f"ferretdb did not listen on {layout.socket} in {timeout_s}s: {log_tail(layout)}"
    )


def accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (FerretDB closes its SQLite files), then SIGKILL past the grace period."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(layout: StoreLayout) -> str:
    try:
        with layout.log.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            return log.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
