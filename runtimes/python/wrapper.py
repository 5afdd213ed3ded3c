"""lambdaclone's Python runtime wrapper: serve one user handler over HTTP/1.1.

Run as a script (`python runtimes/python/wrapper.py`), configured only by environment variables
(see runtimes/README.md). The same file runs as a local process and inside the container image.
Only the standard library is imported here; Flask is imported only when the user's handler
follows the Flask convention. The socket is bound before the handler is loaded, so a request
that arrives early waits in the backlog instead of being refused.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import resource
import signal
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The wrapper's helpers live in the `runtimes.python` package next to this script; the package
# root is only on sys.path while they are imported, so it never shadows the user's modules.
_HERE = Path(__file__).resolve().parent
_ROOT = str(_HERE.parent.parent)
sys.path.insert(0, _ROOT)
from runtimes.contract import (  # noqa: E402
    DEFAULT_REGION,
    FUNCTION_VERSION,
    HEALTH_PATH,
    SOCKET_ENV,
)
from runtimes.python import loader  # noqa: E402
from runtimes.python.common import (  # noqa: E402
    Bound,
    FunctionInfo,
    InvokeError,
    Reply,
    Request,
    error_log_line,
    error_reply,
    from_exception,
    function_error_reply,
    json_reply,
    new_request_id,
)

sys.path.remove(_ROOT)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

_OUTPUT_LOCK = threading.Lock()
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class Config:
    """Everything read from the environment, once, at start."""

    host: str
    port: int
    socket_path: str
    """A Unix socket to serve on instead of host:port (empty: TCP)."""
    code_dir: str
    handler: str
    path_prefix: str
    convention: str
    info: FunctionInfo


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, ""))
    except ValueError:
        return default


def read_config() -> Config:
    socket_path = os.environ.get(SOCKET_ENV, "")
    port = _int_env("PORT", -1)
    if not socket_path and not 0 <= port <= 65535:
        sys.exit("lambdaclone wrapper: PORT must be set to a TCP port number")
    info = FunctionInfo(
        name=os.environ.get("LAMBDA_FUNCTION_NAME", "function"),
        key=os.environ.get("LAMBDA_FUNCTION_KEY", ""),
        version=os.environ.get("LAMBDA_FUNCTION_VERSION", FUNCTION_VERSION),
        memory_mb=_int_env("LAMBDA_MEMORY_MB", 128),
        timeout_ms=_int_env("LAMBDA_TIMEOUT_MS", 3000),
        region=os.environ.get("AWS_REGION") or DEFAULT_REGION,
        log_group=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        log_stream=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
    )
    return Config(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=port,
        socket_path=socket_path,
        code_dir=os.environ.get("LAMBDA_CODE_DIR", ""),
        handler=os.environ.get("LAMBDA_HANDLER", "handler.handler"),
        path_prefix=os.environ.get("LAMBDA_PATH_PREFIX", "").rstrip("/"),
        convention=os.environ.get("LAMBDA_CONVENTION", "auto") or "auto",
        info=info,
    )


def emit(stream: str, text: str) -> None:
    """Write whole lines under one lock so concurrent invocations never interleave them."""
    out = sys.stdout if stream == "out" else sys.stderr
    with _OUTPUT_LOCK:
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()


def strip_prefix(path: str, prefix: str) -> str:
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return path[len(prefix) :] or "/"
    return path


class WrapperServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server holding the loaded invoker (or the reason it failed to load)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, config: Config) -> None:
        self.config = config
        self.bound: Bound | None = None
        self.load_failure: InvokeError | None = None
        if config.socket_path:
            self.address_family = socket.AF_UNIX
            super().__init__(config.socket_path, RequestHandler)  # type: ignore[arg-type]
        else:
            super().__init__((config.host, config.port), RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a DNS lookup); skip it.
        if self.address_family == socket.AF_UNIX:
            with contextlib.suppress(FileNotFoundError):  # a previous worker's socket
                Path(self.config.socket_path).unlink()
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = "localhost", 0
            return
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.config.host, self.server_address[1]

    def load(self) -> None:
        cfg = self.config
        try:
            self.bound = loader.load_invoker(
                cfg.code_dir, cfg.handler, cfg.convention, cfg.info, cfg.path_prefix
            )
        except InvokeError as exc:
            self.failed_to_load(exc)

    def failed_to_load(self, error: InvokeError) -> None:
        self.load_failure = error
        emit("err", f"[ERROR] HandlerLoadError: {error.message}")

    def wait_loaded(self) -> None:
        """Return once the handler is loaded or known not to load (here: `load` did it)."""

    def invoke(self, req: Request) -> Reply:
        self.wait_loaded()
        if self.bound is None:
            return error_reply(self.load_failure or InvokeError("HandlerLoadError", "not loaded"))
        try:
            return self.bound.invoke(req)
        except InvokeError as exc:
            return self._failed(req, exc)
        # Process boundary: a user handler may raise anything; it must become a 500, not a crash.
        except Exception as exc:  # noqa: BLE001
            return self._failed(req, from_exception(exc))

    def _failed(self, req: Request, error: InvokeError) -> Reply:
        if self.bound is not None and self.bound.convention == "lambda":
            emit("err", error_log_line(error, req.request_id))
            return function_error_reply()
        trace = "".join(error.stack or [])
        emit("err", f"[ERROR] RequestId: {req.request_id} {error.error_type}: {error.message}")
        if trace:
            emit("err", trace)
        return error_reply(error)


class RequestHandler(BaseHTTPRequestHandler):
    """Every method is an invocation, except GET on the health path."""

    protocol_version = "HTTP/1.1"
    server: WrapperServer

    def setup(self) -> None:
        super().setup()
        if self.server.address_family != socket.AF_UNIX:  # no Nagle on Unix sockets: EOPNOTSUPP
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """No access log: each invocation prints Lambda's START/END/REPORT lines instead."""

    def serve(self) -> None:
        target, _, query = self.path.partition("?")
        path = strip_prefix(target, self.server.config.path_prefix)
        body = self.read_body()  # always consumed: leftovers would corrupt the next request
        if body is None:
            return
        if path == HEALTH_PATH:
            self.send_reply(self.health(), "")
            return
        request_id = self.headers.get("x-request-id") or new_request_id()
        req = Request(
            method=self.command,
            path=path,
            query=query,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=self._source_ip(),
            request_id=request_id,
            protocol=self.request_version,
        )
        self.send_reply(self.run(req), request_id)

    # http.server dispatches on do_<METHOD> attribute names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve  # noqa: N815

    def health(self) -> Reply:
        """200 with the convention the handler follows (the platform answers timeouts of
        Lambda-convention functions as a Function URL does), or the load failure."""
        self.server.wait_loaded()
        failure, bound = self.server.load_failure, self.server.bound
        if failure is not None or bound is None:
            return error_reply(failure or InvokeError("HandlerLoadError", "not loaded"))
        return json_reply(200, {"status": "ok", "convention": bound.convention})

    def run(self, req: Request) -> Reply:
        cfg = self.server.config
        emit("out", f"START RequestId: {req.request_id} Version: {cfg.info.version}")
        started = time.perf_counter()
        reply = self.server.invoke(req)
        elapsed = (time.perf_counter() - started) * 1000
        max_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        emit("out", f"END RequestId: {req.request_id}")
        emit(
            "out",
            f"REPORT RequestId: {req.request_id}\tDuration: {elapsed:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(elapsed))} ms\t"
            f"Memory Size: {cfg.info.memory_mb} MB\tMax Memory Used: {max_rss_mb} MB",
        )
        return reply

    def _source_ip(self) -> str:
        """The last `X-Forwarded-For` hop: the one added by the platform in front of us (the
        control plane's proxy, or the load balancer); earlier hops are the caller's claims."""
        forwarded = self.headers.get_all("x-forwarded-for")
        hops = [hop.strip() for value in forwarded or () for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        if hops:
            return hops[-1]
        # A Unix socket's peer has no address (client_address is ''): a local caller.
        return str(self.client_address[0]) if self.client_address else "127.0.0.1"

    def read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None after answering a bad request."""
        try:
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return self._read_chunked()
            length = int(self.headers.get("content-length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, "invalid Content-Length or chunked encoding")
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537).strip():  # trailers, then the blank line
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def send_reply(self, reply: Reply, request_id: str) -> None:
        """Status line, headers and body in one write (one packet for small replies)."""
        try:
            head = self._head(reply, request_id)
        except (UnicodeEncodeError, ValueError) as exc:
            reply = error_reply(InvokeError("InvalidResponse", f"bad response header: {exc}"))
            head = self._head(reply, request_id)
        body = b"" if self.command == "HEAD" else reply.body
        try:
            self.wfile.write(head + body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _head(self, reply: Reply, request_id: str) -> bytes:
        phrase = self.responses.get(reply.status, ("",))[0]
        lines = [f"HTTP/1.1 {reply.status} {phrase}", f"Date: {self.date_time_string()}"]
        for name, value in reply.headers:
            if name.lower() in _HOP_BY_HOP or name.lower() == "x-request-id":
                continue
            if any(c in name + value for c in "\r\n") or not name:
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}")
        if request_id:
            lines.append(f"x-request-id: {request_id}")
        lines.append(f"Content-Length: {len(reply.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def main() -> None:
    if isinstance(sys.stdout, io.TextIOWrapper):  # user prints reach the log line by line
        sys.stdout.reconfigure(line_buffering=True)
    config = read_config()
    # As PID 1 in a container SIGTERM is ignored unless handled; exit promptly instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = WrapperServer(config)
    server.load()
    server.serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
