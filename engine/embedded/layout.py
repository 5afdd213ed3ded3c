"""Where one embedded store keeps its files, and the private directories that hold them.

Everything lives in the store's directory (mode 0700, the control plane's user's): the SQLite
files, the lock, the log and the Unix socket FerretDB listens on. A socket path is limited to
107 bytes (`sun_path`); when the store's directory is too deep for that, the socket goes to a
per-user 0700 directory under the system's temporary directory instead, named after a digest of
the store's path so each store keeps its own.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from engine.errors import StoreUnavailable
from engine.files import PRIVATE_DIR

SOCKET_NAME = "ferretdb.sock"
MAX_SOCKET_PATH = 107
"""`sun_path` holds 108 bytes, the terminating NUL included."""


@dataclass(frozen=True)
class StoreLayout:
    root: Path
    """The store's directory, absolute and without symlinks."""

    @classmethod
    def at(cls, root: Path) -> StoreLayout:
        return cls(root.resolve())

    @property
    def sqlite_url(self) -> str:
        """FerretDB's `-sqlite-url`: a directory, ending in `/`. Also the marker by which a
        server on these files is recognised (see `strays`)."""
        return f"file:{self.root}/"

    @property
    def lock(self) -> Path:
        return self.root / "ferretdb.lock"

    @property
    def log(self) -> Path:
        return self.root / "ferretdb.log"

    @property
    def socket(self) -> Path:
        beside = self.root / SOCKET_NAME
        if len(os.fsencode(beside)) <= MAX_SOCKET_PATH:
            return beside
        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:16]
        return _short_socket_dir() / f"{digest}.sock"

    @property
    def uri(self) -> str:
        return socket_uri(self.socket)

    def prepare(self) -> None:
        """Create (or check) the private directories the store needs."""
        private_dir(self.root)
        private_dir(self.socket.parent)


def store_uri(root: Path) -> str:
    """The MongoDB URI of the embedded store in `root`, known before the server starts."""
    return StoreLayout.at(root).uri


def socket_uri(path: Path) -> str:
    """pymongo reads a host ending in `.sock` as a Unix socket; its `/`s must be escaped."""
    return f"mongodb://{quote(str(path), safe='')}/"


def private_dir(path: Path) -> None:
    """`path` as a directory only this user may enter: created 0700, or checked to be a real
    directory (not a symlink) owned by this user and tightened to 0700. Anything else is
    refused, since someone else could then reach the socket or the files."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise StoreUnavailable(
            f"{path} must be a directory (not a symlink) owned by uid {os.geteuid()}, not uid "
            f"{info.st_uid}: the embedded store's socket and files would be reachable by others"
        )
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)


def _short_socket_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"lambdaclone-{os.geteuid()}"
