"""The invoke path's HTTP proxy: one request from a client to one function worker.

Written against raw ASGI (no Starlette Request/Response, no pydantic) with one pooled aiohttp
session (keep-alive, TCP_NODELAY — aiohttp sets it on every connection), because on this path
the client library and per-request allocations are most of the cost.

Order of checks: the wrappers' reserved health path (404 `not_found`) → 413 from Content-Length
(before reading anything) → body read with a running count (413 as soon as it passes the
limit) → `target.upstream` (404 / cold start) → 429 at the function's concurrency cap → forward
within the function's timeout (504) → a worker that dies or refuses gives 502. The response is
buffered (bounded like the request, as Lambda does), so a failure at any point can still be
answered with a proper error instead of a cut-off body.

A request that timed out keeps its place in the function's concurrency until the worker
answers it, for at most `timeout + OVERRUN_GRACE_S`; past that the target is told
(`OverrunFeedback`) and restarts the worker — the only way to stop a handler still running in
one of its threads — before the place is freed. So the requests running in a worker never
exceed the function's `concurrency`, even after 504s. The proxy is the one that counts them
(`engine.traffic.Traffic`); targets read the counts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from starlette.exceptions import HTTPException
from yarl import URL

from engine.errors import (
    FunctionCrashed,
    FunctionTimedOut,
    LambdaCloneError,
    PayloadTooLarge,
    ResponseTooLarge,
    TooManyRequests,
)
from engine.formats import endpoint_path
from engine.target import InvokeFailure, InvokeFeedback, OverrunFeedback, Target, Upstream
from engine.traffic import Traffic
from runtimes.contract import HEALTH_PATH

log = logging.getLogger("lambdaclone.invoke")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

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
_DROP_REQUEST = HOP_BY_HOP | {b"content-length", b"x-request-id", b"x-forwarded-for"}
_DROP_RESPONSE = HOP_BY_HOP | {b"content-length", b"date", b"server", b"x-request-id"}
_REQUEST_ID = b"x-request-id"
_REQUEST_ID_RE = re.compile(rb"[\x21-\x7e]{1,200}")
KEEPALIVE_S = 30.0  # below the wrappers' idle timeouts (node 65 s), so no reuse races
RETRY_AFTER_S = 1
OVERRUN_GRACE_S = 1.0
"""How long past its timeout a request may keep running before its worker is restarted."""
RESERVED_SUFFIX = HEALTH_PATH.lstrip("/")
"""Answered by every wrapper itself (the readiness probe), so never an invocation."""

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class ClientGone(Exception):
    """The client disconnected before its request body was complete: nothing to answer."""


@dataclass
class InvokeStats:
    """Per-function counters the control plane records besides the workers' REPORT lines."""

    invocations: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    total_ms: float = 0.0
    max_ms: float = 0.0
    last_ms: float = 0.0

    def record(self, duration_ms: float, error: str | None) -> None:
        self.invocations += 1
        self.total_ms += duration_ms
        self.last_ms = duration_ms
        self.max_ms = max(self.max_ms, duration_ms)
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1

    def to_dict(self) -> dict[str, object]:
        mean = self.total_ms / self.invocations if self.invocations else 0.0
        return {
            "invocations": self.invocations,
            "errors": dict(self.errors),
            "mean_ms": round(mean, 3),
            "max_ms": round(self.max_ms, 3),
            "last_ms": round(self.last_ms, 3),
        }


class InvokeProxy:
    """Owns the pooled client session and the traffic counts; `start()`/`close()` from the
    platform's lifespan."""

    def __init__(
        self,
        target: Target,
        traffic: Traffic,
        max_payload_bytes: int,
        overrun_grace_s: float = OVERRUN_GRACE_S,
    ) -> None:
        self.target = target
        self.traffic = traffic
        self.max_payload_bytes = max_payload_bytes
        self.overrun_grace_s = overrun_grace_s
        self.stats: dict[str, InvokeStats] = {}
        self._session: aiohttp.ClientSession | None = None
        self._calls: set[asyncio.Task[Answer]] = set()

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, keepalive_timeout=KEEPALIVE_S, use_dns_cache=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5.0),
                trust_env=False,
            )

    async def close(self) -> None:
        calls = list(self._calls)  # only requests that outlived their 504 can still be here
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            await self.start()
        assert self._session is not None
        return self._session

    # --- one invocation ------------------------------------------------------------------
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target
        params = scope["path_params"]
        key: str = params["key"]
        if params.get("path") == RESERVED_SUFFIX:
            raise HTTPException(404, f"/{RESERVED_SUFFIX} is reserved for the platform")
        headers, request_id, length = _request_headers(scope)
        if length is not None and length > self.max_payload_bytes:
            raise PayloadTooLarge(_too_large(length, self.max_payload_bytes))
        try:
            body = await _read_body(receive, self.max_payload_bytes)
        except ClientGone:
            return  # the caller hung up before its body was complete: nobody to answer
        upstream = await target.upstream(key)
        stats = self.stats.get(key)
        if stats is None:  # only for functions that exist: unknown keys never grow this map
            stats = self.stats[key] = InvokeStats()
        started = time.perf_counter()
        error: str | None = None
        try:
            await self._invoke(
                scope,
                send,
                target,
                key=key,
                upstream=upstream,
                headers=headers,
                request_id=request_id,
                body=body,
            )
        except LambdaCloneError as exc:
            error = exc.code
            raise
        finally:
            stats.record((time.perf_counter() - started) * 1000, error)

    async def _invoke(
        self,
        scope: Scope,
        send: Send,
        target: Target,
        *,
        key: str,
        upstream: Upstream,
        headers: list[tuple[str, str]],
        request_id: str,
        body: bytes | None,
    ) -> None:
        if self.traffic.inflight(upstream) >= upstream.concurrency:
            raise TooManyRequests(
                f"the function is at its concurrency limit ({upstream.concurrency})",
                retry_after_s=RETRY_AFTER_S,
            )
        url = _upstream_url(scope, key, upstream)
        self.traffic.begin(upstream)
        call = asyncio.ensure_future(
            self._call(
                target, key, upstream, method=scope["method"], url=url, headers=headers, body=body
            )
        )
        self._calls.add(call)  # it may outlive this request (a 504): keep it referenced
        call.add_done_callback(self._calls.discard)
        try:
            async with asyncio.timeout(upstream.timeout_ms / 1000):
                status, out_headers, out_body = await asyncio.shield(call)
        except TimeoutError as exc:
            _feedback(target, key, upstream, "timed_out")
            raise FunctionTimedOut(
                f"the function did not answer within {upstream.timeout_ms} ms",
                detail={"timeout_ms": upstream.timeout_ms, "request_id": request_id},
            ) from exc
        except aiohttp.ClientError as exc:
            _feedback(target, key, upstream, "crashed")
            raise FunctionCrashed(
                f"the function's worker failed during the request ({type(exc).__name__})",
                detail={"request_id": request_id},
            ) from exc
        out_headers.append((_REQUEST_ID, request_id.encode("latin-1")))
        if scope["method"] != "HEAD":
            out_headers.append((b"content-length", str(len(out_body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": out_body})

    async def _call(
        self,
        target: Target,
        key: str,
        upstream: Upstream,
        *,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> Answer:
        """The request to the worker; it holds its in-flight place until it ends, which may be
        after the caller got its 504 — at the latest `timeout + overrun_grace_s`, once the
        target has stopped the worker still running it."""
        limit = asyncio.timeout(upstream.timeout_ms / 1000 + self.overrun_grace_s)
        try:
            async with limit:
                return await self._forward(method, url, headers, body)
        except TimeoutError:
            if limit.expired() and isinstance(target, OverrunFeedback):
                await asyncio.to_thread(target.invoke_overran, key, upstream)
            raise
        finally:
            self.traffic.end(upstream)

    async def _forward(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> Answer:
        session = self._session or await self.session()
        async with session.request(
            method, url, headers=headers, data=body, allow_redirects=False
        ) as response:
            out_body = await self._read_response(response)
            out_headers = [
                (name, value)
                for name, value in response.raw_headers
                if name.lower() not in _DROP_RESPONSE
                and (method != "HEAD" or name.lower() != b"content-length")
            ]
            if method == "HEAD":
                out_headers += [
                    (n, v) for n, v in response.raw_headers if n.lower() == b"content-length"
                ]
            return response.status, out_headers, out_body

    async def _read_response(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.max_payload_bytes
        length = response.content_length
        if length is not None:
            if length > limit:
                raise ResponseTooLarge(_too_large(length, limit, "response"))
            return await response.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(_too_large(size, limit, "response"))
            chunks.append(chunk)
        return b"".join(chunks)


# --- request pieces ----------------------------------------------------------------------
def _request_headers(scope: Scope) -> tuple[list[tuple[str, str]], str, int | None]:
    """Headers to forward (hop-by-hop dropped, `X-Forwarded-For` replaced by the peer's
    address), the request id, and the Content-Length."""
    out: list[tuple[str, str]] = []
    request_id = ""
    length: int | None = None
    connection_listed: set[bytes] = set()
    for name, value in scope["headers"]:
        if name in _DROP_REQUEST:
            if name == b"content-length":
                length = _parse_length(value)
            elif name == _REQUEST_ID:
                request_id = _valid_request_id(value)
            elif name == b"connection":
                connection_listed.update(t.strip().lower() for t in value.split(b","))
            continue
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    if connection_listed:
        out = [(n, v) for n, v in out if n.encode("latin-1") not in connection_listed]
    client = scope.get("client")
    if client:  # the peer as the ASGI server reports it (after its own trusted-proxy rules)
        out.append(("x-forwarded-for", str(client[0])))
    request_id = request_id or str(uuid.uuid4())
    out.append(("x-request-id", request_id))
    return out, request_id, length


def _parse_length(value: bytes) -> int | None:
    return int(value) if value.isdigit() else None


def _valid_request_id(value: bytes) -> str:
    """A caller's id is kept when it is short printable ASCII; otherwise a new one is made."""
    return value.decode("ascii") if _REQUEST_ID_RE.fullmatch(value) else ""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, stopping with 413 as soon as it passes `limit`."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise PayloadTooLarge(_too_large(len(body), limit))
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
            raise PayloadTooLarge(_too_large(size, limit, "request body (so far)"))
        chunks.append(chunk)
    return b"".join(chunks) or None


def _upstream_url(scope: Scope, key: str, upstream: Upstream) -> URL:
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    marker = endpoint_path(key).encode()
    at = raw.find(marker)
    suffix = raw[at + len(marker) :].decode("latin-1") if at >= 0 else ""
    query: bytes = scope.get("query_string", b"")
    text = f"http://{upstream.host}:{upstream.port}{upstream.path_prefix}{suffix}"
    if query:
        text = f"{text}?{query.decode('latin-1')}"
    return URL(text, encoded=True)


def _too_large(size: int, limit: int, what: str = "request body") -> str:
    return f"the {what} is {size} bytes; the limit is {limit} bytes"


def _feedback(target: Target, key: str, upstream: Upstream, failure: InvokeFailure) -> None:
    if isinstance(target, InvokeFeedback):
        target.invoke_failed(key, upstream, failure)
