"""Init container of a function pod: download the function's artifact, check it, unpack it.

Runs in the runtime-provided image (its Python, standard library only) as the pod's non-root
user on a read-only root filesystem, before the function's container starts (ADR 0048):

1. `GET $ARTIFACT_URL` with `Authorization: Bearer $ARTIFACT_TOKEN` (the function's pull
   token, from its Secret) into a file of the pod's `/tmp` emptyDir, counting bytes as they
   come (at most `MAX_ARCHIVE_BYTES`) and hashing them;
2. refuse it unless its sha256 is `$ARTIFACT_SHA256` (the digest the pod template names);
3. unpack it into `$ARTIFACT_DEST` (the code emptyDir, mounted read-only in the function's
   container): regular files, directories and symlinks that stay inside only — no absolute
   path, no `..`, no device, no hard link, nothing below a symlink — at most
   `MAX_UNPACKED_BYTES` in all.

Exits 0 when the tree is in place; otherwise prints why and exits 1 (the rollout reports the
init container's termination message).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

MAX_ARCHIVE_BYTES = 300 * 1024 * 1024
MAX_UNPACKED_BYTES = 2 * 250 * 1024 * 1024
CHUNK = 1024 * 1024
ATTEMPTS = 5


class Refused(Exception):
    """The artifact is not what the pod template names, or would write outside its tree."""


def download(url: str, token: str, dest: Path) -> str:
    """Stream `url` into `dest`; returns its sha256. Retries a connection that fails (the
    control plane restarting), never a refusal."""
    if not url.startswith(("http://", "https://")):
        raise Refused(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    for attempt in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=30) as reply, dest.open("wb") as out:  # noqa: S310 - the control plane's http(s) URL
                return _copy(reply, out)
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == ATTEMPTS - 1:
                raise Refused(f"GET {url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            if attempt == ATTEMPTS - 1:
                raise Refused(f"GET {url}: {exc}") from exc
        time.sleep(1 + attempt)
    raise Refused(f"GET {url}: no answer")


def _copy(reply: object, out: object) -> str:
    digest, size = hashlib.sha256(), 0
    while chunk := reply.read(CHUNK):  # type: ignore[attr-defined]
        size += len(chunk)
        if size > MAX_ARCHIVE_BYTES:
            raise Refused(f"the artifact is larger than {MAX_ARCHIVE_BYTES} bytes")
        digest.update(chunk)
        out.write(chunk)  # type: ignore[attr-defined]
    return digest.hexdigest()


def check_member(member: tarfile.TarInfo, seen: dict[str, str]) -> None:
    """Refuse what could write outside the tree; `seen` maps each earlier path to its type."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or not member.name or ".." in path.parts or "\\" in member.name:
        raise Refused(f"unsafe path {member.name!r}")
    for parent in list(path.parents)[:-1]:
        if seen.get(parent.as_posix(), "dir") != "dir":
            raise Refused(f"{member.name!r} is below a file or symlink")
    if member.issym():
        target = PurePosixPath(member.linkname)
        inside = (path.parent / target).parts
        depth = 0
        for part in inside:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                break
        if target.is_absolute() or depth < 0:
            raise Refused(f"symlink {member.name!r} -> {member.linkname!r} leaves the artifact")
    elif not (member.isreg() or member.isdir()):
        raise Refused(f"{member.name!r} is not a file, directory or symlink")
    seen[path.as_posix()] = "dir" if member.isdir() else "other"


def unpack(archive: Path, dest: Path) -> int:
    """Unpack `archive` into `dest` after checking every entry; returns the bytes written."""
    total, seen = 0, dict[str, str]()
    with tarfile.open(archive, mode="r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            check_member(member, seen)
            total += member.size
            if total > MAX_UNPACKED_BYTES:
                raise Refused(f"the artifact unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        tar.extractall(dest, members=members, filter="data")  # the standard checks too
    return total


def main() -> int:
    env = os.environ
    archive = Path(env.get("TMPDIR", "/tmp")) / "artifact.tar.gz"  # noqa: S108 - the pod's emptyDir
    try:
        digest = download(env["ARTIFACT_URL"], env["ARTIFACT_TOKEN"], archive)
        if digest != env["ARTIFACT_SHA256"]:
            raise Refused(f"the artifact's sha256 is {digest}, not {env['ARTIFACT_SHA256']}")
        size = unpack(archive, Path(env["ARTIFACT_DEST"]))
    except (Refused, tarfile.TarError, KeyError) as exc:
        print(f"fetch-artifact: {exc}", file=sys.stderr)
        return 1
    finally:
        archive.unlink(missing_ok=True)
    print(f"fetch-artifact: {digest[:12]} unpacked, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
