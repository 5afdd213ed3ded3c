"""The proxy's HTTP/1.1 client to function workers: raw asyncio protocols, httptools' C parser,
keep-alive connections pooled per worker (`Upstream`), over TCP or a worker's Unix socket.

A general client (aiohttp) spent a fifth of the control plane's CPU per invocation on URL
objects, header multidicts and features this hop never uses (redirects, cookies, proxies,
decompression). The hop needs only: write one request, parse one response with a bounded
body, keep the connection if the worker allows it — and pass a chunked answer on as it comes
(a streaming function: Lambda's response streaming), which buffers nothing and costs the
common, sized answer nothing.

A pooled connection the worker closed while idle fails before any byte of its answer; that
one case is retried once on a new connection (nothing reached a handler). Idle connections are
dropped after `keepalive_s`, below the wrappers' own idle timeouts.
"""

from __future__ import annotations

import asyncio
import socket
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast

import httptools

from engine.errors import ResponseTooLarge
from engine.target import Upstream

Headers = list[tuple[bytes, bytes]]


class UpstreamFailed(Exception):
    """The worker refused the connection, or closed or broke it before a whole answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Headers
    body: bytes
    stream: BodyStream | None = None
    """A chunked answer's body, arriving (`body` is then empty): read it, then `close()` it."""


@dataclass(eq=False)
class BodyStream:
    """The rest of a chunked answer, chunk by chunk as the worker writes it. `close()` (once
    read, or abandoned) gives the connection back to the pool if the answer was whole, else
    closes it, and runs the `on_close` callbacks (the proxy frees the invocation's place)."""

    connection: _Connection
    queue: asyncio.Queue[bytes | Exception | None] = field(default_factory=asyncio.Queue)
    on_close: list[Callable[[], None]] = field(default_factory=list)
    ended: bool = False
    closed: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while (item := await self.queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
        self.ended = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.connection.stream_closed(whole=self.ended)
        for callback in self.on_close:
            callback()


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time (the pool guarantees it)."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.reusable = True
        self.idle_since = time.monotonic()
        self.used = False
        self._answer: asyncio.Future[Answer] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._headers: Headers = []
        self._chunks: list[bytes] = []
        self._size = 0
        self._received = False
        self._head = False
        self._stream: BodyStream | None = None
        self.release: Callable[[_Connection], None] | None = None
        """Back to the pool once a streamed answer was read whole (set by the pool)."""

    # --- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's do not subclass it
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._received = True
        if self._parser is None:  # bytes nobody asked for: the connection is not sane
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamFailed("the worker switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(UpstreamFailed(f"malformed answer from the worker: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(UpstreamFailed("the worker closed the connection"))

    # --- httptools callbacks -------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        if self._head:  # no body follows, whatever Content-Length says
            self.reusable = False
            self._complete()
        elif any(n.lower() == b"transfer-encoding" and b"chunked" in v for n, v in self._headers):
            self._start_stream()

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.queue.put_nowait(body)
            return
        self._size += len(body)
        if self._size > self.max_body:
            message = f"the response is over {self.max_body} bytes; the limit is {self.max_body}"
            self._fail(ResponseTooLarge(message))
            self.close()
            return
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if self._stream is not None:
            self._stream.queue.put_nowait(None)
            self._parser = None
            return
        self._complete()

    # --- one exchange --------------------------------------------------------------------
    async def exchange(self, request: bytes, *, head: bool) -> Answer:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._headers, self._chunks, self._size = [], [], 0
        self._received, self._head, self.used = False, head, True
        self.transport.write(request)
        return await self._answer

    @property
    def failed_before_answer(self) -> bool:
        return not self._received

    def _complete(self) -> None:
        answer, parser = self._answer, self._parser
        if answer is None or parser is None or answer.done():
            return
        if not parser.should_keep_alive():
            self.reusable = False
        status = parser.get_status_code()
        answer.set_result(Answer(status, self._headers, b"".join(self._chunks)))
        self._parser = None
        self.idle_since = time.monotonic()

    def _start_stream(self) -> None:
        """A chunked answer: the caller gets the head now and the body as it comes."""
        answer, parser = self._answer, self._parser
        if answer is None or parser is None or answer.done():
            return
        if not parser.should_keep_alive():
            self.reusable = False
        self._stream = BodyStream(self)
        answer.set_result(Answer(parser.get_status_code(), self._headers, b"", self._stream))

    def stream_closed(self, *, whole: bool) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if whole and self.reusable and self.release is not None:
            self.idle_since = time.monotonic()
            self.release(self)
        else:
            self.close()

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        if self._stream is not None:
            self._stream.queue.put_nowait(UpstreamFailed(f"the answer was cut off: {exc}"))
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class UpstreamClient:
    """Pools connections per worker; `close()` drops them all."""

    def __init__(self, max_body: int, keepalive_s: float, connect_timeout_s: float = 5.0) -> None:
        self.max_body = max_body
        self.keepalive_s = keepalive_s
        self.connect_timeout_s = connect_timeout_s
        self._idle: weakref.WeakKeyDictionary[Upstream, list[_Connection]] = (
            weakref.WeakKeyDictionary()
        )

    async def send(
        self, upstream: Upstream, method: str, target: str, headers: Headers, body: bytes | None
    ) -> Answer:
        """One request to `upstream`; raises `UpstreamFailed` or `ResponseTooLarge`."""
        request = _encode(method, target, upstream, headers, body)
        head = method == "HEAD"
        connection = self._checkout(upstream)
        if connection is not None:
            try:
                return await self._exchange(upstream, connection, request, head=head)
            except UpstreamFailed:
                if not connection.failed_before_answer:
                    raise
                # the worker had closed this idle connection: nothing reached a handler
        connection = await self._connect(upstream)
        return await self._exchange(upstream, connection, request, head=head)

    async def _exchange(
        self, upstream: Upstream, connection: _Connection, request: bytes, *, head: bool
    ) -> Answer:
        try:
            answer = await connection.exchange(request, head=head)
        except BaseException:
            connection.close()  # cancelled (a timeout) or failed mid-answer: never reused
            raise
        if answer.stream is not None:  # pooled again once its body has been read whole
            connection.release = lambda done: self._idle.setdefault(upstream, []).append(done)
        elif connection.reusable:
            self._idle.setdefault(upstream, []).append(connection)
        else:
            connection.close()
        return answer

    def _checkout(self, upstream: Upstream) -> _Connection | None:
        idle = self._idle.get(upstream)
        oldest_allowed = time.monotonic() - self.keepalive_s
        while idle:
            connection = idle.pop()
            transport = connection.transport
            fresh = connection.idle_since >= oldest_allowed
            if transport is not None and not transport.is_closing() and fresh:
                return connection
            connection.close()
        return None

    async def _connect(self, upstream: Upstream) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(self.max_body)
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                if upstream.socket_path is not None:
                    await loop.create_unix_connection(lambda: connection, upstream.socket_path)
                else:
                    await loop.create_connection(lambda: connection, upstream.host, upstream.port)
        except (OSError, TimeoutError) as exc:
            raise UpstreamFailed(f"cannot connect to the worker: {exc}") from exc
        return connection

    async def close(self) -> None:
        for connections in list(self._idle.values()):
            for connection in connections:
                connection.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


def _encode(
    method: str, target: str, upstream: Upstream, headers: Headers, body: bytes | None
) -> bytes:
    """The request head and body; the caller's Host is kept (the event's `domainName`)."""
    lines = [f"{method} {target} HTTP/1.1\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in headers]
    if not any(name == b"host" for name, _ in headers):
        lines.append(f"host: {upstream.host}:{upstream.port}\r\n".encode())
    if body is not None:
        lines.append(b"content-length: %d\r\n" % len(body))
    elif method in ("POST", "PUT", "PATCH"):
        lines.append(b"content-length: 0\r\n")
    lines.append(b"\r\n")
    if body is not None:
        lines.append(body)
    return b"".join(lines)
