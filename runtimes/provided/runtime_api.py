"""The Lambda Runtime API (version 2018-06-01) served to one bootstrap on 127.0.0.1.

Routes, as AWS documents them: `GET /runtime/invocation/next` (200, the event, with the
`Lambda-Runtime-*` headers), `POST /runtime/invocation/{id}/response` and `…/{id}/error`
(202), `POST /runtime/init/error` (202). Unknown request ids are 400 `InvalidRequestID`, bodies
over Lambda's 6 MB response limit 413. Standard library only (it runs in the worker).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runtimes.contract import RUNTIME_API_PORT_ENV, RUNTIME_API_VERSION
from runtimes.provided.broker import Broker, Invocation, Outcome, Waiter

PREFIX = f"/{RUNTIME_API_VERSION}/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
InitFailure = Callable[[str, str], None]
"""Told (errorType, errorMessage) when the bootstrap reports `/runtime/init/error`."""


class RuntimeApiServer(ThreadingHTTPServer):
    """The bootstrap's side of a worker; `AWS_LAMBDA_RUNTIME_API` is `address`."""

    daemon_threads = True

    def __init__(self, broker: Broker, function_arn: str, on_init_error: InitFailure) -> None:
        self.broker = broker
        self.function_arn = function_arn
        self.on_init_error = on_init_error
        super().__init__(("127.0.0.1", _port()), RuntimeApiHandler)

    def server_bind(self) -> None:  # no FQDN lookup (HTTPServer.server_bind does one)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()

    @property
    def address(self) -> str:
        port: int = self.socket.getsockname()[1]
        return f"127.0.0.1:{port}"


def _port() -> int:
    """Sandboxed, the port the firewall leaves this uid (`RUNTIME_API_PORT_ENV`); else any."""
    offset = os.environ.get(RUNTIME_API_PORT_ENV)
    return int(offset) + os.getuid() if offset else 0


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer
    raw_requestline: bytes

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the function's log holds what the bootstrap prints, not our access log."""

    def parse_request(self) -> bool:
        """Request line and headers without `email.parser` (BaseHTTPRequestHandler's, a large
        part of an invocation's cost here): the bootstrap is a known, local HTTP/1.1 client."""
        words = str(self.raw_requestline, "latin-1").rstrip("\r\n").split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(400, "bad request line")
            return False
        self.command, self.path, self.request_version = words
        self.close_connection = words[2] == "HTTP/1.0"
        headers = Headers()
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = str(line, "latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers  # type: ignore[assignment]
        if headers.get("connection", "").lower() == "close":
            self.close_connection = True
        if headers.get("expect", "").lower() == "100-continue":  # curl's, for large bodies
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._answer(404, {"errorType": "NotFound", "errorMessage": "no such route"})
            return
        waiter = Waiter(self._deliver)
        self.server.broker.wait(waiter)
        if not waiter.delivered:
            self.close_connection = True

    def _deliver(self, invocation: Invocation) -> None:
        """The answer to `/invocation/next` (written by the invoking thread)."""
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
            "Content-Type": "application/json",
        }
        head = self._head(200, len(invocation.event), headers)
        self.wfile.write(head + invocation.event)

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        parts = self.path.removeprefix(PREFIX).strip("/").split("/")
        if parts == ["init", "error"]:
            header_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
            error_type, message, _ = parse_error(body, header_type)
            self.server.on_init_error(error_type, message)
            self._answer(202, {"status": "OK"})
            return
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._answer(404, {"errorType": "NotFound", "errorMessage": "no such route"})
            return
        request_id, kind = parts[1], parts[2]
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
        if not self.server.broker.is_pending(request_id):
            message = f"Invalid request ID: {request_id!r} is not an invocation in progress"
            self._answer(400, {"errorType": "InvalidRequestID", "errorMessage": message})
            return
        # 202 first: the bootstrap asks for the next event while the caller gets its answer.
        self._answer(202, {"status": "OK"})
        self.server.broker.complete(request_id, Outcome(kind, body, error_type))

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        if length < 0:
            self._answer(400, {"errorType": "InvalidRequest", "errorMessage": "bad length"})
            return None
        if length > MAX_RESPONSE_BYTES:
            self.close_connection = True
            message = f"the response is {length} bytes, over the {MAX_RESPONSE_BYTES} limit"
            self._answer(413, {"errorType": "RequestEntityTooLarge", "errorMessage": message})
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while size := int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16):
            total += size
            if total > MAX_RESPONSE_BYTES:
                self.close_connection = True
                self._answer(413, {"errorType": "RequestEntityTooLarge", "errorMessage": "big"})
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)
        while self.rfile.readline(65537).strip():  # trailers (streaming's error trailers)
            pass
        return b"".join(chunks)

    def _answer(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.wfile.write(self._head(status, len(body), headers) + body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _head(self, status: int, length: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Headers(dict[str, str]):
    """Request headers by lower-case name (what `parse_request` reads)."""

    def get(self, name: str, default: str = "") -> str:  # type: ignore[override]
        return super().get(name.lower(), default)


def parse_error(body: bytes, header_type: str) -> tuple[str, str, list[str]]:
    """(errorType, errorMessage, stackTrace) of a posted error: Lambda's JSON error, or any
    text as the message; the type falls back to `Lambda-Runtime-Function-Error-Type`."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {"errorMessage": body.decode("utf-8", errors="replace")}
    error_type = str(payload.get("errorType") or header_type or "Runtime.Unknown")
    raw_stack = payload.get("stackTrace")
    stack = raw_stack if isinstance(raw_stack, list) else []
    lines = [line if isinstance(line, str) else json.dumps(line) for line in stack]
    return error_type, str(payload.get("errorMessage") or ""), lines


def trace_id(epoch_s: int) -> str:
    """An X-Ray-shaped trace header (`Root=1-<time>-<96 random bits>;...;Sampled=0`)."""
    return f"Root=1-{epoch_s:08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"
