"""Sending a function's code from the CLI: a source file as the JSON `file` field, or — a
`.zip`, or a file with `--dependencies` — as a function package (docs/packages.md): the zip is
the body (`Content-Type: application/zip`) and the other fields go in the query string."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from api.cli.client import Api

ZIP_MAGIC = b"PK\x03\x04"
LOCK_FILES = {"package.json": "package-lock.json", "go.mod": "go.sum"}
"""A manifest's lock file, sent beside it when it exists."""


def package_of(file: Path | None, dependencies: Path | None) -> bytes | None:
    """`file` itself if it is a zip; `file` and its manifest (and lock) zipped; else None."""
    if file is None:
        if dependencies is not None:
            raise SystemExit("--dependencies needs the function's file too")
        return None
    raw = file.read_bytes()
    if raw.startswith(ZIP_MAGIC):
        return raw
    if dependencies is None:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file.name, raw)
        archive.write(dependencies, dependencies.name)
        lock_name = LOCK_FILES.get(dependencies.name)
        lock = dependencies.with_name(lock_name) if lock_name else None
        if lock is not None and lock.is_file():
            archive.write(lock, lock.name)
    return buffer.getvalue()


def send_function(
    api: Api,
    method: str,
    body: dict[str, Any],
    package: bytes | None,
    params: dict[str, str],
) -> httpx.Response:
    """A create (POST) or update (PATCH): JSON, or the package with the fields as query."""
    if package is None:
        return api.request(method, "/lambda", json=body, params=params)
    query = {n: json.dumps(v) if isinstance(v, dict | list) else str(v) for n, v in body.items()}
    headers = {"Content-Type": "application/zip"}
    return api.request(method, "/lambda", content=package, headers=headers, params=query | params)
