"""The pieces of an invocation request the proxy reads and forwards (pure, no I/O but the
ASGI `receive`): which headers go on, the request id, the body within its limit, the target
path on the worker. Headers stay `bytes` from the ASGI scope to the worker's socket."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.upstream_client import Headers
from engine.errors import PayloadTooLarge
from engine.formats import endpoint_path
from engine.target import Upstream

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Recomputed by the proxy or set by the front server. The caller's X-Forwarded-For is dropped:
# the worker gets the peer's address only, so a client cannot choose the event's `sourceIp`.
DROP_REQUEST = HOP_BY_HOP | {b"content-length", b"x-request-id", b"x-forwarded-for", b"expect"}
DROP_RESPONSE = HOP_BY_HOP | {b"content-length", b"date", b"server", b"x-request-id"}
REQUEST_ID = b"x-request-id"
REQUEST_ID_RE = re.compile(rb"[\x21-\x7e]{1,200}")


class ClientGone(Exception):
    """The client disconnected before its request body was complete: nothing to answer."""


def request_headers(scope: Scope) -> tuple[Headers, str, int | None]:
    """Headers to forward (hop-by-hop dropped, `X-Forwarded-For` replaced by the peer's
    address), the request id, and the Content-Length."""
    out: Headers = []
    request_id = ""
    length: int | None = None
    connection_listed: set[bytes] = set()
    for name, value in scope["headers"]:
        if name in DROP_REQUEST:
            if name == b"content-length":
                length = parse_length(value)
            elif name == REQUEST_ID:
                request_id = valid_request_id(value)
            elif name == b"connection":
                connection_listed.update(t.strip().lower() for t in value.split(b","))
            continue
        out.append((name, value))
    if connection_listed:
        out = [(n, v) for n, v in out if n not in connection_listed]
    client = scope.get("client")
    if client:  # the peer as the ASGI server reports it (after its own trusted-proxy rules)
        out.append((b"x-forwarded-for", str(client[0]).encode("latin-1")))
    request_id = request_id or new_request_id()
    out.append((REQUEST_ID, request_id.encode("latin-1")))
    return out, request_id, length


def request_ids() -> Callable[[], str]:
    """Request ids shaped like Lambda's (a UUID), unique per process: a random prefix drawn
    once and a counter — a tenth of `uuid4()`'s cost on every request."""
    prefix = str(uuid.uuid4())[:24]
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter) & 0xFFFFFFFFFFFF:012x}"


new_request_id = request_ids()


def bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            return secret.strip() if scheme.lower() == "bearer" else None
    return None


def parse_length(value: bytes) -> int | None:
    return int(value) if value.isdigit() else None


def valid_request_id(value: bytes) -> str:
    """A caller's id is kept when it is short printable ASCII; otherwise a new one is made."""
    return value.decode("ascii") if REQUEST_ID_RE.fullmatch(value) else ""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, stopping with 413 as soon as it passes `limit`."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise PayloadTooLarge(too_large(len(body), limit))
        return body or None
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large(size, limit, "request body (so far)"))
        chunks.append(chunk)
    return b"".join(chunks) or None


def upstream_target(scope: Scope, key: str, upstream: Upstream) -> str:
    """The request target the worker gets: its path prefix, the caller's path suffix (still
    percent-encoded, as sent) and query."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    marker = endpoint_path(key).encode()
    at = raw.find(marker)
    suffix = raw[at + len(marker) :].decode("latin-1") if at >= 0 else ""
    query: bytes = scope.get("query_string", b"")
    target = f"{upstream.path_prefix}{suffix}" or "/"
    return f"{target}?{query.decode('latin-1')}" if query else target


def too_large(size: int, limit: int, what: str = "request body") -> str:
    return f"the {what} is {size} bytes; the limit is {limit} bytes"
