"""Looking at real processes from the embedded store's tests: listeners, exits."""

from __future__ import annotations

import os
import select
from pathlib import Path

REQUIRED_RECOVERY_S = 5.0
"""Issue 11: a kill -9 of the store recovers by itself within 5 s."""


def tcp_listeners(pid: int) -> set[str]:
    """The local addresses of the TCP sockets `pid` listens on (by their inode in /proc/net)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked: a server opens and closes fds
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    listening = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.add(fields[1])
    return listening


def exits(pidfd: int, timeout_s: float) -> bool:
    """True once the process of `pidfd` has exited (a pidfd polls readable then)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))
