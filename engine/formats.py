"""Formats shared across the engine and the API, each defined once: where a function's
endpoint lives and where its code artifact is kept in object storage."""

from __future__ import annotations

from engine.keys import check_key

ENDPOINT_PREFIX = "/endpoint/"


def endpoint_path(key: str) -> str:
    """`/endpoint/<key>`: the invoke route, the Ingress rule and the wrappers' path prefix."""
    return ENDPOINT_PREFIX + check_key(key)


def endpoint_url(base: str, key: str) -> str:
    return base.rstrip("/") + endpoint_path(key)


def code_object_key(key: str, sha256: str, extension: str) -> str:
    """The S3 key of a code artifact: `functions/<key>/<sha256>.<ext>`."""
    return f"functions/{check_key(key)}/{sha256}.{extension}"


CODE_OBJECT_PREFIX = "functions/"
