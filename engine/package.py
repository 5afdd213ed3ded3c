"""Function packages: a zip archive accepted or refused whole, and its one text encoding.

A package is read once, at the door, with Lambda's limits (50 MB zipped, 250 MB unpacked)
and nothing trusted from the archive's headers: every entry is inflated (into nothing but a
hash) and counted as it inflates, so a zip bomb stops at the first byte past a limit, whatever
sizes its headers claim. Paths that leave the package (`../`, absolute, drive letters,
backslashes), symlinks pointing out of it, special files, duplicates and encrypted entries are
refused; so is a package without its handler's file.

The accepted package travels as a function's `code` text — one value, stored, journaled and
hashed like a single file: a magic line, a manifest line (every file's path, sha256, size and
mode, sorted) and the archive as uploaded, in base64. Its identity is the manifest (two zips
of the same files are the same code, whatever their timestamps), and previews diff it file by
file. Pure: bytes in, values out; writing the files is the targets' part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from engine import manifests
from engine.errors import PackageRefused, PackageTooLarge

MAGIC = "lambdaclone-package/1"
ZIP_MAGIC = b"PK\x03\x04"
MB = 1024 * 1024
DEPENDENCY_MANIFESTS = ("requirements.txt", "package.json", "package-lock.json", "go.mod", "go.sum")
"""Files at a package's root that declare dependencies (built once, at deploy time)."""
_DRIVE = re.compile(r"[A-Za-z]:")
_READ = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Lambda's package limits, plus the ones a zip needs to be safe to inflate."""

    zipped_bytes: int = 50 * MB
    unpacked_bytes: int = 250 * MB
    entries: int = 20_000
    bomb_ratio: int = 100
    """An entry inflating to more than this many times its compressed size is a bomb …"""
    bomb_floor: int = 8 * MB
    """… once it has inflated past this (small, very repetitive files are normal)."""
    path_bytes: int = 1024
    link_bytes: int = 4096


@dataclass(frozen=True)
class PackageFile:
    path: str
    sha256: str
    size: int
    mode: int
    """0o644 or 0o755 for a file; `stat.S_IFLNK | 0o777` for a symlink."""
    link: str = ""
    """A symlink's target (relative, inside the package)."""

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.mode)


@dataclass(frozen=True)
class Package:
    files: tuple[PackageFile, ...]
    archive: bytes

    def manifest_line(self) -> str:
        rows = [[f.path, f.sha256, f.size, f.mode, f.link] for f in self.files]
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)

    def encode(self) -> str:
        """The function's `code`: magic, manifest, archive (see the module's docstring)."""
        payload = base64.b64encode(self.archive).decode("ascii")
        return f"{MAGIC}\n{self.manifest_line()}\n{payload}"

    def unpacked_bytes(self) -> int:
        return sum(f.size for f in self.files)


def is_archive(raw: bytes) -> bool:
    return raw.startswith(ZIP_MAGIC)


def is_package(code: str) -> bool:
    return code.startswith(MAGIC + "\n")


def identity(code: str) -> str:
    """What a package's hash covers: its magic and manifest, not the archive's bytes."""
    head, _, _ = code.partition("\n")
    manifest, _, _ = code[len(head) + 1 :].partition("\n")
    return f"{head}\n{manifest}"


def manifest(code: str) -> tuple[PackageFile, ...]:
    """The files of an encoded package, from its manifest line alone (cheap)."""
    return _files_of(identity(code))


@lru_cache(maxsize=256)
def _files_of(identity_text: str) -> tuple[PackageFile, ...]:
    """Cached by the manifest line (small), never by a whole package."""
    _, manifest_line = identity_text.split("\n", 1)
    rows = json.loads(manifest_line)
    return tuple(PackageFile(str(p), str(s), int(n), int(m), str(k)) for p, s, n, m, k in rows)


def decode(code: str) -> Package:
    """The package `encode` wrote (its archive is read again, with the same rules, when a
    target unpacks it)."""
    payload = code.rsplit("\n", 1)[1]
    try:
        archive = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise PackageRefused("the package's archive is damaged", code="invalid_package") from exc
    return Package(manifest(code), archive)


def dependency_files(code: str) -> dict[str, str]:
    """The dependency manifests at the package's root → their sha256 (empty: no build)."""
    return {f.path: f.sha256 for f in manifest(code) if f.path in DEPENDENCY_MANIFESTS}


def has_handler_file(files: tuple[PackageFile, ...], handler_file: str) -> bool:
    """Whether the handler's file (`src/app` of `src/app.handler`) is in the package: a file
    `src/app.<ext>` or a package directory `src/app/` (python's `__init__.py`)."""
    return any(
        not f.is_link
        and (f.path.startswith(f"{handler_file}.") or f.path.startswith(f"{handler_file}/"))
        for f in files
    )


# --- reading an upload -------------------------------------------------------------------------
def read(raw: bytes, limits: Limits = Limits()) -> Package:
    """The package in `raw`, or the first rule it breaks (nothing is written either way)."""
    if len(raw) > limits.zipped_bytes:
        raise PackageTooLarge(
            f"the package is {len(raw)} bytes zipped; the limit is {limits.zipped_bytes}",
            limit=limits.zipped_bytes,
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise PackageRefused(f"not a readable zip archive: {exc}", code="invalid_package") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise PackageRefused(
                f"the package has {len(infos)} entries; the limit is {limits.entries}",
                code="package_too_many_entries",
            )
        files = tuple(sorted(_read_entries(archive, infos, limits), key=lambda f: f.path))
        _check_tree(files)
        _check_manifests(archive, infos, files, limits)
    return Package(files, raw)


def _check_manifests(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    files: tuple[PackageFile, ...],
    limits: Limits,
) -> None:
    """The root's dependency manifests name nothing a build must not fetch (`manifests`)."""
    declared = {f.path for f in files if f.path in DEPENDENCY_MANIFESTS and not f.is_link}
    for info in infos:
        if not info.is_dir() and (path := checked_path(info.filename, limits)) in declared:
            manifests.check(path, archive.read(info))


def _read_entries(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits
) -> Iterator[PackageFile]:
    budget = _Budget(limits)
    for info in infos:
        path = checked_path(info.filename, limits)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir() or kind == stat.S_IFDIR:
            continue
        if info.flag_bits & 0x1:
            raise PackageRefused(f"{path} is encrypted", code="invalid_package", path=path)
        if kind not in (0, stat.S_IFREG, stat.S_IFLNK):
            raise PackageRefused(f"{path} is not a file", code="invalid_package", path=path)
        sha, size, content = _inflate(archive, info, budget, keep=kind == stat.S_IFLNK)
        if kind == stat.S_IFLNK:
            yield PackageFile(path, sha, size, stat.S_IFLNK | 0o777, _link(path, content, limits))
        else:
            executable = (info.external_attr >> 16) & 0o111
            yield PackageFile(path, sha, size, 0o755 if executable else 0o644)


class _Budget:
    """The unpacked bytes left, counted as entries inflate."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.left = limits.unpacked_bytes

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            limit = self.limits.unpacked_bytes
            raise PackageTooLarge(
                f"the package unpacks to more than {limit} bytes (the limit)", limit=limit
            )


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, *, keep: bool
) -> tuple[str, int, bytes]:
    digest, size, kept = hashlib.sha256(), 0, bytearray()
    ceiling = max(budget.limits.bomb_floor, budget.limits.bomb_ratio * info.compress_size)
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(_READ):
                size += len(chunk)
                budget.spend(len(chunk))
                if size > ceiling:
                    raise PackageRefused(
                        f"{info.filename} inflates more than {budget.limits.bomb_ratio} times "
                        "its compressed size: a zip bomb",
                        code="package_bomb",
                        path=info.filename,
                    )
                digest.update(chunk)
                if keep and len(kept) <= budget.limits.link_bytes:
                    kept += chunk
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, RuntimeError) as exc:
        why = f"{info.filename} cannot be read: {exc}"
        raise PackageRefused(why, code="invalid_package", path=info.filename) from exc
    return digest.hexdigest(), size, bytes(kept)


def checked_path(name: str, limits: Limits = Limits()) -> str:
    """A relative path that stays in the package (a directory's trailing `/` removed)."""
    path = name[:-1] if name.endswith("/") else name
    parts = path.split("/")
    unsafe = (
        not path
        or "\x00" in path
        or "\\" in path
        or path.startswith("/")
        or _DRIVE.match(path) is not None
        or any(part in ("", ".", "..") for part in parts)
        or len(path.encode()) > limits.path_bytes
    )
    if unsafe:
        raise PackageRefused(
            f"{name!r} is not a relative path inside the package",
            code="package_unsafe_path",
            path=name,
        )
    return path


def _link(path: str, content: bytes, limits: Limits) -> str:
    target = content.decode("utf-8", "replace")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    outside = (
        not target
        or len(content) > limits.link_bytes
        or target.startswith("/")
        or "\x00" in target
        or resolved == ".."
        or resolved.startswith("../")
    )
    if outside:
        raise PackageRefused(
            f"symlink {path} points outside the package ({target!r})",
            code="package_symlink",
            path=path,
        )
    return target


def _check_tree(files: tuple[PackageFile, ...]) -> None:
    """One entry per path, and none below a file or a symlink (which would write through it)."""
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise PackageRefused(f"{f.path} is in the package twice", code="invalid_package")
        seen.add(f.path)
    for f in files:
        parts = f.path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in seen:
                why = f"{f.path} is below {parent}, which is a file or a symlink"
                raise PackageRefused(why, code="package_unsafe_path", path=f.path)
