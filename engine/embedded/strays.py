"""FerretDB servers on a store's files that no live control plane owns: found and stopped.

The lifeline makes them rare (a server that hung while stopping, or one started by an older
release, which had no lifeline), but one would serve the same SQLite files as the server the new
control plane starts. They are found by a marker, not a pid file that may be stale or name a
reused pid: a process named `ferretdb` whose `-sqlite-url` names this store's directory. They are
signalled through a pidfd, so a pid reused between finding and signalling is never hit.
Called with the store's lock held, so whoever started them is dead.
"""

from __future__ import annotations

import logging
import os
import select
import signal
from pathlib import Path

from engine.embedded.layout import StoreLayout
from engine.errors import StoreUnavailable

log = logging.getLogger(__name__)
PROC = Path("/proc")
TERM_GRACE_S = 5.0
KILL_WAIT_S = 5.0
_URL_FLAG = "-sqlite-url="


def find_strays(layout: StoreLayout) -> list[int]:
    """Pids of the FerretDB processes serving `layout`'s files."""
    return [pid for pid in _pids() if _serves(pid, layout)]


def stop_strays(layout: StoreLayout) -> list[int]:
    """Stop every stray server (SIGTERM, then SIGKILL); returns their pids."""
    strays = find_strays(layout)
    for pid in strays:
        log.warning(
            "stopping ferretdb pid %d, left on %s by a control plane that died", pid, layout.root
        )
        _stop(pid, layout)
    return strays


def _pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _serves(pid: int, layout: StoreLayout) -> bool:
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:  # gone
        return False
    if not argv or Path(os.fsdecode(argv[0])).name != "ferretdb":
        return False
    urls = [url for arg in argv[1:] if (url := _sqlite_dir(os.fsdecode(arg)))]
    return any(_resolved(pid, url) == layout.root for url in urls)


def _sqlite_dir(arg: str) -> str | None:
    """The directory of a `-sqlite-url=file:DIR/` (or `--sqlite-url`) argument."""
    name, _, value = arg.lstrip("-").partition("=")
    if name != _URL_FLAG.strip("-="):
        return None
    return value.removeprefix("file:").partition("?")[0] or None


def _resolved(pid: int, directory: str) -> Path | None:
    """`directory` as `pid` sees it: relative to its working directory (readable only for
    our own processes; another user's relative path is not ours to judge)."""
    path = Path(directory)
    if path.is_absolute():
        return path.resolve()
    try:
        return ((PROC / str(pid) / "cwd").readlink() / path).resolve()
    except OSError:
        return None


def _stop(pid: int, layout: StoreLayout) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if not _serves(pid, layout):  # exited, and the pid was reused, before the pidfd
            return
        if _signal_and_wait(pidfd, signal.SIGTERM, TERM_GRACE_S):
            return
        if not _signal_and_wait(pidfd, signal.SIGKILL, KILL_WAIT_S):
            raise StoreUnavailable(f"ferretdb pid {pid} on {layout.root} did not die on SIGKILL")
    except PermissionError as exc:
        raise StoreUnavailable(
            f"ferretdb pid {pid} serves {layout.root} but belongs to another user; stop it first"
        ) from exc
    finally:
        os.close(pidfd)


def _signal_and_wait(pidfd: int, signum: int, timeout_s: float) -> bool:
    """True once the process has exited (a pidfd polls readable then)."""
    try:
        signal.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:
        return True
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))
