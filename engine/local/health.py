"""The wrappers' health check, seen from the control plane: one HTTP/1.0 GET of the health
path over the worker's Unix socket (sandboxed) or loopback TCP port (plain), and the wait for
a new worker to answer it."""

from __future__ import annotations

import json
import socket
import time

from engine.local.process import StartFailedError, WorkerProcess, output_after_exit
from runtimes.contract import HEALTH_PATH

_POLL_FIRST_S = 0.001
_POLL_MAX_S = 0.02


def wait_healthy(worker: WorkerProcess, timeout_s: float) -> str:
    """Poll the health endpoint until 200 and return the convention the wrapper found for
    the handler (`lambda`, `original`…; empty if it does not say); raise `StartFailedError` on
    exit or timeout."""
    deadline = time.monotonic() + timeout_s
    delay = _POLL_FIRST_S
    last = "no answer"
    while True:
        code = worker.popen.poll()
        if code is not None:
            raise StartFailedError(
                f"worker exited with code {code} before it was healthy", output_after_exit(worker)
            )
        status, body = probe_worker(worker, timeout_s=1.0)
        if status == 200:
            return _convention(body)
        if status is not None and status != 503:  # 503: still loading; anything else: failed
            raise StartFailedError(_load_error(status, body), output_after_exit(worker))
        if status is not None:
            last = f"health answered {status}: {body[:500]}"
        if time.monotonic() >= deadline:
            raise StartFailedError(
                f"worker not healthy after {timeout_s:g}s ({last})", output_after_exit(worker)
            )
        time.sleep(delay)
        delay = min(_POLL_MAX_S, delay * 1.5)


def _convention(body: str) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("convention", "")) if isinstance(answer, dict) else ""


def _load_error(status: int, body: str) -> str:
    """The wrapper's `{errorType, errorMessage}` from a failed health check, else the body."""
    try:
        error = json.loads(body)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (ValueError, KeyError, TypeError):
        return f"health check answered {status}: {body[:500]}"


def probe_worker(worker: WorkerProcess, timeout_s: float) -> tuple[int | None, str]:
    return probe(worker.host, worker.port, timeout_s, worker.socket_path)


def probe(
    host: str, port: int, timeout_s: float, socket_path: str | None = None
) -> tuple[int | None, str]:
    """One HTTP/1.0 GET of the health path: (status, body), or (None, reason) if unreachable."""
    try:
        with _connect(host, port, timeout_s, socket_path) as sock:
            sock.sendall(f"GET {HEALTH_PATH} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
            data = _read_all(sock)
    except OSError as exc:
        return None, str(exc)
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None, "malformed health response"
    return int(parts[1]), body.decode("utf-8", errors="replace")


def _connect(host: str, port: int, timeout_s: float, socket_path: str | None) -> socket.socket:
    if socket_path is None:
        sock = socket.create_connection((host, port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(socket_path)
    except OSError:
        sock.close()
        raise
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
