"""One server per set of SQLite files: an exclusive `flock` on a file beside them, held by the
control plane that owns the store for as long as it runs.

The kernel releases the lock when its holder dies, however it dies, so a crash never leaves the
store locked. The descriptor is close-on-exec: FerretDB itself never holds the lock, so a server a
crashed control plane left behind does not keep the next one out (it is stopped instead, see
`strays`). Two FerretDB servers on one set of files would each trust its own cache of the
databases' metadata and corrupt each other's view.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from engine.embedded.layout import StoreLayout
from engine.errors import StoreUnavailable
from engine.files import PRIVATE_FILE


@contextlib.contextmanager
def store_lock(layout: StoreLayout) -> Iterator[None]:
    """Holds the store's lock, or raises at once when another process holds it."""
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreUnavailable(_in_use(layout, fd)) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _in_use(layout: StoreLayout, fd: int) -> str:
    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
    return (
        f"the embedded store in {layout.root} is in use by another control plane (pid {holder}); "
        "stop that one first, or give this one another LAMBDACLONE_DATA_DIR"
    )
