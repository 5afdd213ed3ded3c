"""The invoke path's HTTP proxy: one request from a client to one function worker.

Written against raw ASGI (no Starlette Request/Response, no pydantic) with a lean pooled
HTTP/1.1 client (`api.upstream_client`: keep-alive, TCP_NODELAY, httptools' parser), because on
this path the client library and per-request allocations are most of the cost. Headers stay
bytes from the ASGI scope to the worker's socket. An upstream with a `socket_path` (a
sandboxed local worker: no TCP port) is reached over its Unix socket, pooled per worker.

Order of checks: the wrappers' reserved health path (404 `not_found`) → 413 from Content-Length
(before reading anything) → body read with a running count (413 as soon as it passes the
limit) → `target.upstream` (404 / cold start) → a place within the function's concurrency
(queued briefly, else 429: `api.admission`) → forward
within the function's timeout (504) → a worker that dies or refuses gives 502. A sized response
is buffered (bounded like the request, as Lambda does), so a failure at any point can still be
answered with a proper error instead of a cut-off body; a chunked one (a streaming function) is
passed on as it comes (`api.streamed`).

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
import time
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException

from api.admission import Admission
from api.answers import send_function_url_error, send_streamed
from api.invoke_request import (
    DROP_RESPONSE,
    REQUEST_ID,
    ClientGone,
    Receive,
    Scope,
    Send,
    bearer,
    read_body,
    request_headers,
    too_large,
    upstream_target,
)
from api.upstream_client import Answer, Headers, UpstreamClient, UpstreamFailed
from engine.access_service import AccessService
from engine.errors import (
    Forbidden,
    FunctionCrashed,
    FunctionTimedOut,
    LambdaCloneError,
    PayloadTooLarge,
)
from engine.settings import Settings
from engine.target import (
    InvokeAuthority,
    InvokeFailure,
    InvokeFeedback,
    OverrunFeedback,
    Target,
    Upstream,
)
from engine.traffic import Traffic
from runtimes.contract import HEALTH_PATH

log = logging.getLogger("lambdaclone.invoke")


KEEPALIVE_S = 30.0  # below the wrappers' idle timeouts (node 65 s), so no reuse races
OVERRUN_GRACE_S = 1.0
"""How long past its timeout a request may keep running before its worker is restarted."""
RESERVED_SUFFIX = HEALTH_PATH.lstrip("/")
"""Answered by every wrapper itself (the readiness probe), so never an invocation."""


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
        access: AccessService,
        settings: Settings,
        overrun_grace_s: float = OVERRUN_GRACE_S,
    ) -> None:
        self.target = target
        self.traffic = traffic
        self.access = access
        self.max_payload_bytes = settings.max_payload_bytes
        self.admission = Admission(
            traffic, settings.invoke_queue_depth, settings.invoke_queue_wait_ms / 1000
        )
        self.overrun_grace_s = overrun_grace_s
        self.stats: dict[str, InvokeStats] = {}
        self.client = UpstreamClient(self.max_payload_bytes, KEEPALIVE_S)
        self._calls: set[asyncio.Task[Answer]] = set()

    async def start(self) -> None:
        """Nothing to open: connections are made on first use, per worker."""

    async def close(self) -> None:
        calls = list(self._calls)  # only requests that outlived their 504 can still be here
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await self.client.close()

    # --- one invocation ------------------------------------------------------------------
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target
        params = scope["path_params"]
        key: str = params["key"]
        if params.get("path") == RESERVED_SUFFIX:
            raise HTTPException(404, f"/{RESERVED_SUFFIX} is reserved for the platform")
        headers, request_id, length = request_headers(scope)
        if length is not None and length > self.max_payload_bytes:
            raise PayloadTooLarge(too_large(length, self.max_payload_bytes))
        try:
            body = await read_body(receive, self.max_payload_bytes)
        except ClientGone:
            return  # the caller hung up before its body was complete: nobody to answer
        checked = isinstance(target, InvokeAuthority) and target.invoke_auth(key) == "token"
        if checked:  # refused before the target may cold-start a worker for it
            self._check_invoker(scope, key)
        upstream = await target.upstream(key)
        if upstream.auth == "token":
            if not checked:
                self._check_invoker(scope, key)
            headers = [(n, v) for n, v in headers if n != b"authorization"]  # not the function's
        stats = self.stats.get(key)
        if stats is None:  # only for functions that exist: unknown keys never grow this map
            stats = self.stats[key] = InvokeStats()
        started = time.perf_counter()
        error: str | None = None
        try:
            error = await self._invoke(
                scope,
                send,
                target,
                key=key,
                upstream=upstream,
                headers=headers,
                request_id=request_id,
                body=body,
            )
        except (FunctionTimedOut, FunctionCrashed) as exc:
            error = exc.code
            if not upstream.function_url_errors:
                raise
            # As a Function URL answers: the caller learns only that it failed; why is logged
            log.warning("%s (%s): %s [request %s]", key, exc.code, exc.message, request_id)
            await send_function_url_error(send, request_id)
        except LambdaCloneError as exc:
            error = exc.code
            raise
        finally:
            stats.record((time.perf_counter() - started) * 1000, error)

    def _check_invoker(self, scope: Scope, key: str) -> None:
        """A token-protected function: the caller's token must allow invoking this function
        (checked in memory: no store round trip)."""
        client = scope.get("client")
        principal = self.access.authenticate(bearer(scope), str(client[0]) if client else "")
        if not principal.may("functions:invoke", key):
            raise Forbidden(
                "this token may not invoke this function",
                detail={"action": "functions:invoke", "role": principal.role},
            )

    async def _invoke(
        self,
        scope: Scope,
        send: Send,
        target: Target,
        *,
        key: str,
        upstream: Upstream,
        headers: Headers,
        request_id: str,
        body: bytes | None,
    ) -> str | None:
        """Forward one invocation; the error code of a streamed answer cut off, else None."""
        await self.admission.enter(upstream)  # 429 when the cap and its queue are full
        deadline = asyncio.get_running_loop().time() + upstream.timeout_ms / 1000
        path = upstream_target(scope, key, upstream)
        call = asyncio.ensure_future(
            self._call(
                target, key, upstream, method=scope["method"], path=path, headers=headers, body=body
            )
        )
        self._calls.add(call)  # it may outlive this request (a 504): keep it referenced
        call.add_done_callback(self._calls.discard)
        try:
            async with asyncio.timeout(upstream.timeout_ms / 1000):
                answer = await asyncio.shield(call)
        except TimeoutError as exc:
            _feedback(target, key, upstream, "timed_out")
            raise FunctionTimedOut(
                f"the function did not answer within {upstream.timeout_ms} ms",
                detail={"timeout_ms": upstream.timeout_ms, "request_id": request_id},
            ) from exc
        except UpstreamFailed as exc:
            _feedback(target, key, upstream, "crashed")
            raise FunctionCrashed(
                f"the function's worker failed during the request ({exc})",
                detail={"request_id": request_id},
            ) from exc
        method = scope["method"]
        out_headers = [
            (name, value)
            for name, value in answer.headers
            if name.lower() not in DROP_RESPONSE
            or (method == "HEAD" and name.lower() == b"content-length")
        ]
        out_headers.append((REQUEST_ID, request_id.encode("latin-1")))
        if answer.stream is not None:
            return await send_streamed(send, answer.status, out_headers, answer.stream, deadline)
        if method != "HEAD":
            out_headers.append((b"content-length", b"%d" % len(answer.body)))
        await send({"type": "http.response.start", "status": answer.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": answer.body})
        return None

    async def _call(
        self,
        target: Target,
        key: str,
        upstream: Upstream,
        *,
        method: str,
        path: str,
        headers: Headers,
        body: bytes | None,
    ) -> Answer:
        """The request to the worker; it holds its in-flight place until it ends, which may be
        after the caller got its 504 — at the latest `timeout + overrun_grace_s`, once the
        target has stopped the worker still running it."""
        limit = asyncio.timeout(upstream.timeout_ms / 1000 + self.overrun_grace_s)
        streamed = False
        try:
            async with limit:
                answer = await self.client.send(upstream, method, path, headers, body)
            if answer.stream is not None:  # its place is held until the stream is closed
                answer.stream.on_close.append(lambda: self.admission.leave(upstream))
                streamed = True
            return answer
        except TimeoutError:
            if limit.expired() and isinstance(target, OverrunFeedback):
                await asyncio.to_thread(target.invoke_overran, key, upstream)
            raise
        finally:
            if not streamed:
                self.admission.leave(upstream)


def _feedback(target: Target, key: str, upstream: Upstream, failure: InvokeFailure) -> None:
    if isinstance(target, InvokeFeedback):
        target.invoke_failed(key, upstream, failure)
