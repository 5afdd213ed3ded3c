"""Stack locks of Pulumi's file backend, and telling a dead process's lock from a live one.

The file backend writes `<backend>/.pulumi/locks/organization/<project>/<stack>/<id>.json`
holding `{"pid", "username", "hostname", "timestamp"}` of the `pulumi` CLI process that took
it, and deletes it when the update ends. A CLI killed with its parent leaves it behind, and every
later update of that stack then fails until it is removed. We remove a lock only when it was
taken on this host by a process that no longer exists; any other lock is left alone.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackLock:
    path: Path
    pid: int
    hostname: str

    @property
    def stack(self) -> str:
        return self.path.parent.name

    def is_stale(self, hostname: str | None = None) -> bool:
        """True when the lock's process is known to be gone (same host, pid not alive)."""
        here = hostname or socket.gethostname()
        return self.hostname == here and not pid_alive(self.pid)


def read_lock(path: Path) -> StackLock | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return StackLock(path=path, pid=int(body["pid"]), hostname=str(body["hostname"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stack_locks(lock_root: Path | None) -> list[StackLock]:
    """Every lock file under the project's lock directory (unreadable ones are skipped)."""
    if lock_root is None or not lock_root.is_dir():
        return []
    found = (read_lock(path) for path in sorted(lock_root.glob("*/*.json")))
    return [lock for lock in found if lock is not None]


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
