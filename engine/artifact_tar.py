"""A deployment directory as one content-addressed artifact: a deterministic `.tar.gz`.

The Kubernetes target ships what the local target would run from disk — a package's files,
its installed dependencies, a Go build — to the pods as one archive, fetched by an init
container and checked against its sha256 (ADR 0048). The same directory always packs to the
same bytes: entries sorted, every mtime, owner and group fixed, modes reduced to 0644/0755,
the gzip header's time and name left out. So the digest names the content, and an unchanged
build never rolls the pods.

`ArtifactStore` keeps the archives under the control plane's data directory, with which
function owns which digest (a function may read only its own), and the pull token a function's
init container presents (a keyed hash of its key: nothing to store, nothing to rotate by hand).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import re
import shutil
import stat
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from engine.errors import Forbidden, Unauthenticated
from engine.keys import check_key, nameable

BUILD_DIR = ".lambdaclone"
"""Where a runtime's build output (the Go binary) sits inside an artifact."""
TASK_TREE = "task"
OPT_TREE = "opt"
"""A function with layers: its artifact holds two trees, the code (`task/`) and its layers'
merged /opt (`opt/`); one without layers holds the code tree alone, at the top."""
POD_OPT_DIR = "/var/opt"
"""Where a pod sees the layers' tree: the runtime images keep their interpreter and wrapper
under /opt, so a volume there would hide them (ADR 0048)."""
FIXED_MTIME = 0
OWNER_ID = 0
SUFFIX = ".tar.gz"
DIGEST = re.compile(r"^[0-9a-f]{64}$")
TOKEN_PURPOSE = b"lambdaclone artifact pull\0"
CHUNK = 1024 * 1024
GZIP_LEVEL = 6
"""zlib's own default: level 9 (GzipFile's default) costs about twice the CPU for a
few per cent smaller archives, on every build of a large dependency tree. The level is part
of the bytes, so it is fixed: the same tree always packs to the same digest."""


@runtime_checkable
class Signer(Protocol):
    """Keyed hashing (the control plane's keyring): pull tokens only it can make."""

    def sign(self, payload: bytes) -> str: ...


def pull_token(signer: Signer, key: str) -> str:
    """The token `key`'s init container presents; the same for the life of the key."""
    return "lcpull_" + signer.sign(TOKEN_PURPOSE + check_key(key).encode())


@dataclass(frozen=True)
class Packed:
    digest: str
    size: int
    path: Path


def _entries(root: Path) -> Iterator[Path]:
    """Every path under `root`, sorted, a directory before what it holds."""
    yield from sorted(root.rglob("*"), key=lambda p: p.relative_to(root).parts)


def _info(path: Path, name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, OWNER_ID, OWNER_ID, "", ""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, str(path.readlink()), 0o777
    elif stat.S_ISDIR(mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif stat.S_ISREG(mode):
        info.size, info.mode = path.lstat().st_size, 0o755 if mode & 0o111 else 0o644
    else:
        raise ValueError(f"{name}: not a file, directory or symlink")
    return info


def write_tar(root: Path, out: IO[bytes]) -> None:
    """`root`'s tree as a deterministic gzipped tar (PAX: long node_modules paths) on `out`."""
    with (
        gzip.GzipFile(
            filename="", mode="wb", fileobj=out, mtime=FIXED_MTIME, compresslevel=GZIP_LEVEL
        ) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for path in _entries(root):
            info = _info(path, path.relative_to(root).as_posix())
            if info.isreg():
                with path.open("rb") as source:
                    archive.addfile(info, source)
            else:
                archive.addfile(info)


def pack(root: Path, dest_dir: Path, claim: Callable[[str], None] = lambda _digest: None) -> Packed:
    """Pack `root` into `dest_dir/<digest>.tar.gz` (written beside, then renamed: complete or
    absent); an archive already there is kept. `claim(digest)` runs before the rename, so a
    concurrent prune never sees the archive unowned."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest_dir / f".{uuid.uuid4().hex}.tmp"
    try:
        with tmp.open("wb") as out:
            write_tar(root, out)
        digest = file_sha256(tmp)
        claim(digest)
        final = dest_dir / f"{digest}{SUFFIX}"
        if final.is_file():
            tmp.unlink()
        else:
            tmp.chmod(0o600)
            tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
    return Packed(digest, final.stat().st_size, final)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """`<root>/<digest>.tar.gz`, `<root>/owners/<key>/<digest>` (who may read it) and
    `<root>/builds/<build id>` (the digest an earlier build of the same inputs produced)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def under(cls, data_dir: Path) -> ArtifactStore:
        return cls(data_dir / "kubernetes" / "artifacts")

    def path(self, digest: str) -> Path:
        if not DIGEST.match(digest):
            raise ValueError("not a sha256 digest")
        return self.root / f"{digest}{SUFFIX}"

    def add(self, packed_root: Path, key: str, build_id: str) -> Packed:
        """Pack a built deployment directory and give it to `key`."""
        packed = pack(packed_root, self.root, lambda digest: self.own(key, digest))
        (self.root / "builds").mkdir(exist_ok=True)
        (self.root / "builds" / build_id).write_text(packed.digest, encoding="utf-8")
        return packed

    def own(self, key: str, digest: str) -> None:
        owners = self.root / "owners" / check_key(key)
        owners.mkdir(parents=True, exist_ok=True)
        (owners / self.path(digest).name.removesuffix(SUFFIX)).touch()

    def owns(self, key: str, digest: str) -> bool:
        return DIGEST.match(digest) is not None and (self.root / "owners" / key / digest).is_file()

    def built(self, build_id: str) -> str | None:
        """The digest of an earlier build of `build_id`, if its archive is still here."""
        with contextlib.suppress(OSError):
            digest = (self.root / "builds" / build_id).read_text(encoding="utf-8").strip()
            if DIGEST.match(digest) and self.path(digest).is_file():
                return digest
        return None

    def readable(self, signer: Signer, key: str, digest: str, authorization: str | None) -> Path:
        """The archive `key`'s pods may download: 401 unless `authorization` is `Bearer
        <key's pull token>` (compared in constant time; the admin token is no pull token),
        403 unless `key` owns `digest`."""
        presented = (authorization or "").removeprefix("Bearer ").strip()
        expected = pull_token(signer, key) if nameable(key) else ""
        if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
            raise Unauthenticated("a function's pull token is required for its artifacts")
        if not self.owns(key, digest) or not self.path(digest).is_file():
            raise Forbidden(f"artifact {digest[:64]!r} is not one of function {key}'s")
        return self.path(digest)

    def release(self, key: str) -> list[str]:
        """`key` owns nothing any more; archives nobody owns are removed (returned)."""
        shutil.rmtree(self.root / "owners" / check_key(key), ignore_errors=True)
        return self.prune()

    def keep_only(self, key: str, digest: str) -> None:
        """After a rollout to `digest`: the function's older archives are no longer needed."""
        owners = self.root / "owners" / check_key(key)
        for marker in owners.iterdir() if owners.is_dir() else []:
            if marker.name != digest:
                marker.unlink(missing_ok=True)
        self.prune()

    def prune(self) -> list[str]:
        owners = self.root / "owners"
        owned = (
            {m.name for d in owners.iterdir() for m in d.iterdir()} if owners.is_dir() else set()
        )
        removed = []
        for archive in self.root.glob(f"*{SUFFIX}"):
            digest = archive.name.removesuffix(SUFFIX)
            if DIGEST.match(digest) and digest not in owned:
                archive.unlink(missing_ok=True)
                removed.append(digest)
        return sorted(removed)
