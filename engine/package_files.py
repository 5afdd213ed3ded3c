"""A package from separately uploaded files (multipart `files` parts, each named by its
relative path): zipped here, then read by `engine.package.read` like any uploaded zip, so the
same limits and refusals apply. Pure: bytes in, bytes out."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Sequence

from engine import package
from engine.errors import PackageRefused

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
"""Every entry's date: the same files make the same archive."""


def archive_of(parts: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip holding each `(relative path, content)`; an unsafe or repeated path is refused
    here with the package codes (`package_unsafe_path`, `invalid_package`)."""
    limits = package.Limits()
    if len(parts) > limits.entries:
        raise PackageRefused(
            f"{len(parts)} files; a package holds at most {limits.entries}",
            code="package_too_many_entries",
        )
    seen: set[str] = set()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts:
            path = package.checked_path(name, limits)
            if path in seen:
                raise PackageRefused(f"{path} is uploaded twice", code="invalid_package", path=path)
            seen.add(path)
            info = zipfile.ZipInfo(path, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, content)
    return buf.getvalue()
