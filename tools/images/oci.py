"""Deterministic OCI pieces: layer tarballs, image configs, manifests and the image layout.

Stdlib only. The same inputs give the same bytes: entries sorted by name, fixed mtimes, numeric
owners without names, no device nodes, gzip without a name or timestamp.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
GZIP_LEVEL = 6
CHUNK = 1 << 20


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def excluded(rel: str, patterns: Iterable[str]) -> bool:
    """`rel` (posix, relative) matches a pattern itself or through one of its parents."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(p, pat) for pat in patterns for p in prefixes)


@dataclass(frozen=True)
class Entry:
    """One tar member: a directory, a file (from disk or bytes) or a symbolic link."""

    kind: str  # "dir" | "file" | "symlink"
    mode: int
    uid: int = 0
    gid: int = 0
    source: Path | None = None
    data: bytes | None = None
    target: str = ""


@dataclass
class Tree:
    """An image file tree in memory: image path (no leading slash) -> entry."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, path: str, entry: Entry) -> None:
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            self.entries.setdefault(parent, Entry("dir", 0o755))
        self.entries[path] = entry

    def add_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.add(path, Entry("file", mode, data=data))

    def add_symlink(self, path: str, target: str) -> None:
        self.add(path, Entry("symlink", 0o777, target=target))

    def add_dir(
        self,
        src: Path,
        dest: str,
        exclude: Iterable[str] = (),
        *,
        keep_owner: bool = False,
    ) -> None:
        """Everything under `src` at image path `dest`. Owners become 0:0 unless `keep_owner`;
        group/other write bits are dropped; sockets, fifos and devices are skipped."""
        patterns = list(exclude)
        dest = dest.strip("/")
        if dest:
            self.add(dest, _entry(src, keep_owner))
        for root, dirs, files in os.walk(src):
            base = Path(root)
            rel_root = base.relative_to(src).as_posix()
            rel_root = "" if rel_root == "." else rel_root
            kept = []
            for name in sorted(dirs):
                rel = f"{rel_root}/{name}" if rel_root else name
                if excluded(rel, patterns):
                    continue
                path = base / name
                if path.is_symlink():
                    self.add(_join(dest, rel), _entry(path, keep_owner))
                else:
                    kept.append(name)
                    self.add(_join(dest, rel), _entry(path, keep_owner))
            dirs[:] = kept
            for name in sorted(files):
                rel = f"{rel_root}/{name}" if rel_root else name
                if excluded(rel, patterns):
                    continue
                path = base / name
                mode = path.lstat().st_mode
                if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                    self.add(_join(dest, rel), _entry(path, keep_owner))


def _join(dest: str, rel: str) -> str:
    return f"{dest}/{rel}" if dest else rel


def _entry(path: Path, keep_owner: bool) -> Entry:
    st = path.lstat()
    uid, gid = (st.st_uid, st.st_gid) if keep_owner else (0, 0)
    perm = stat.S_IMODE(st.st_mode)
    if not keep_owner:
        perm &= ~0o022
    if stat.S_ISLNK(st.st_mode):
        return Entry("symlink", 0o777, uid, gid, target=str(path.readlink()))
    if stat.S_ISDIR(st.st_mode):
        return Entry("dir", perm, uid, gid, source=path)
    return Entry("file", perm, uid, gid, source=path)


class _Tee(io.RawIOBase):
    """A write-only stream that hashes what passes through and forwards it."""

    def __init__(self, sink: IO[bytes] | gzip.GzipFile | None) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.hash.update(view)
        self.size += len(view)
        if self.sink is not None:
            self.sink.write(view)
        return len(view)


@dataclass(frozen=True)
class Blob:
    digest: str  # "sha256:..."
    size: int
    media_type: str

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Layer:
    blob: Blob
    diff_id: str
    files: int


class Layout:
    """An OCI image layout directory (oci-layout, index.json, blobs/sha256/)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest.removeprefix("sha256:")

    def has(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def put_bytes(self, data: bytes, media_type: str) -> Blob:
        digest = hashlib.sha256(data).hexdigest()
        path = self.blobs / digest
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return Blob(f"sha256:{digest}", len(data), media_type)

    def write_layer(self, tree: Tree, epoch: int) -> Layer:
        tmp = self.blobs / f".layer-{os.getpid()}.tmp"
        with tmp.open("wb") as out:
            compressed = _Tee(out)
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=GZIP_LEVEL
            ) as gz:
                raw = _Tee(gz)
                with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    count = _write_tar(tar, tree, epoch)
        digest = compressed.hash.hexdigest()
        tmp.replace(self.blobs / digest)
        blob = Blob(f"sha256:{digest}", compressed.size, LAYER_TYPE)
        return Layer(blob, f"sha256:{raw.hash.hexdigest()}", count)

    def write_index(self, refs: dict[str, Blob]) -> None:
        manifests = []
        for ref in sorted(refs):
            desc = refs[ref].descriptor()
            desc["annotations"] = {REF_NAME: ref}
            manifests.append(desc)
        index = {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests}
        tmp = self.root / "index.json.tmp"
        tmp.write_bytes(canonical_json(index))
        tmp.replace(self.root / "index.json")

    def read_index(self) -> dict[str, Blob]:
        path = self.root / "index.json"
        if not path.exists():
            return {}
        refs: dict[str, Blob] = {}
        for desc in json.loads(path.read_text())["manifests"]:
            ref = desc.get("annotations", {}).get(REF_NAME)
            if ref and self.has(desc["digest"]):
                refs[ref] = Blob(desc["digest"], desc["size"], desc["mediaType"])
        return refs

    def referenced(self, refs: Iterable[Blob]) -> set[str]:
        keep: set[str] = set()
        for manifest in refs:
            keep.add(manifest.digest)
            doc = json.loads(self.blob_path(manifest.digest).read_bytes())
            keep.add(doc["config"]["digest"])
            keep.update(layer["digest"] for layer in doc["layers"])
        return keep

    def prune(self, keep: set[str]) -> int:
        """Removes blobs that no kept digest names; returns the bytes freed."""
        freed = 0
        for path in self.blobs.iterdir():
            if f"sha256:{path.name}" not in keep:
                freed += path.stat().st_size
                path.unlink()
        return freed


def _write_tar(tar: tarfile.TarFile, tree: Tree, epoch: int) -> int:
    seen_inodes: dict[tuple[int, int], str] = {}
    for name in sorted(tree.entries):
        entry = tree.entries[name]
        info = tarfile.TarInfo(name)
        info.mtime = epoch
        info.mode = entry.mode
        info.uid, info.gid = entry.uid, entry.gid
        info.uname = info.gname = ""
        if entry.kind == "dir":
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        elif entry.kind == "symlink":
            info.type = tarfile.SYMTYPE
            info.linkname = entry.target
            tar.addfile(info)
        elif entry.data is not None:
            info.size = len(entry.data)
            tar.addfile(info, io.BytesIO(entry.data))
        else:
            assert entry.source is not None
            st = entry.source.lstat()
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in seen_inodes:
                info.type = tarfile.LNKTYPE
                info.linkname = seen_inodes[key]
                tar.addfile(info)
                continue
            seen_inodes[key] = name
            info.size = st.st_size
            with entry.source.open("rb") as handle:
                tar.addfile(info, handle)
    return len(tree.entries)


def image_config(
    layers: list[Layer],
    *,
    epoch: int,
    config: dict[str, Any],
    history: list[str],
) -> dict[str, Any]:
    created = _rfc3339(epoch)
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": step} for step in history],
    }


def manifest(config: Blob, layers: list[Layer], annotations: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config.descriptor(),
        "layers": [layer.blob.descriptor() for layer in layers],
    }
    if annotations:
        doc["annotations"] = annotations
    return doc


def _rfc3339(epoch: int) -> str:
    import datetime  # noqa: PLC0415

    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
