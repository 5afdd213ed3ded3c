"""The unprivileged user ids sandboxed workers run as, leased one per worker from a range that no
account uses, and each one's socket directory.

```
<run_dir>/            0711 root   (short: a Unix socket path has at most 107 bytes)
  uids.lock           the machine-wide lock every control plane takes to lease
  owners/u<uid>       0700 root   the cgroup of the worker holding the uid
  u<uid>/             0700 <uid>  the worker's socket directory, bound at /run/fn inside
```

A uid is free when its owner file is missing or names a cgroup that no longer exists (every
process of a sandboxed worker lives in its cgroup, and the cgroup is removed only once empty),
so a crashed control plane's leases free themselves once recovery removed their cgroups. The
owner files are root's, outside the worker's reach: a worker cannot forge its uid free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SOCKET_NAME = "http.sock"


class UidsExhausted(RuntimeError):
    """Every uid of the range is held by a running worker."""


@dataclass(frozen=True)
class Lease:
    uid: int
    socket_dir: Path

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / SOCKET_NAME


class UidPool:
    def __init__(self, run_dir: Path, first: int, count: int) -> None:
        self.run_dir = run_dir
        self.first = first
        self.count = count

    def lease(self, owner: Path) -> Lease:
        """A free uid with a fresh, empty socket directory it owns; `owner` is the worker's
        cgroup directory (it must exist already)."""
        with self._locked():
            start = random.randrange(self.count)  # noqa: S311 (spreads leases; no secret)
            for offset in range(self.count):
                uid = self.first + (start + offset) % self.count
                if not self._taken(uid):
                    return self._claim(uid, owner)
        raise UidsExhausted(
            f"all {self.count} sandbox uids ({self.first}-{self.first + self.count - 1}) are in use"
        )

    def move(self, lease: Lease, rename: Callable[[], Path]) -> None:
        """Run `rename` (which moves the lease's cgroup and returns its new directory) and
        record the new owner, under the lock: no lease may see the uid ownerless meanwhile."""
        with self._locked():
            self._owner_file(lease.uid).write_text(str(rename()))

    def release(self, lease: Lease) -> None:
        shutil.rmtree(lease.socket_dir, ignore_errors=True)
        with self._locked():
            self._owner_file(lease.uid).unlink(missing_ok=True)

    def _taken(self, uid: int) -> bool:
        try:
            owner = Path(self._owner_file(uid).read_text())
        except FileNotFoundError:
            return False
        return owner.is_dir()

    def _claim(self, uid: int, owner: Path) -> Lease:
        lease = Lease(uid, self.run_dir / f"u{uid}")
        shutil.rmtree(lease.socket_dir, ignore_errors=True)  # a crashed worker's leftovers
        lease.socket_dir.mkdir(mode=0o700)
        os.chown(lease.socket_dir, uid, uid)
        self._owner_file(uid).write_text(str(owner))
        return lease

    def _owner_file(self, uid: int) -> Path:
        return self.run_dir / "owners" / f"u{uid}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dirs()
        fd = os.open(self.run_dir / "uids.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ensure_dirs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o711)  # traversable: each worker binds its own dir
        (self.run_dir / "owners").mkdir(mode=0o700, exist_ok=True)
