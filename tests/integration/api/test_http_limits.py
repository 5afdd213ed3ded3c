"""The request head's limits, measured the way an attacker would, with raw sockets against the
real app on uvicorn configured as `lambdaclone serve` configures it (api/serving.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.serving import server_options
from engine.settings import Settings
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.threaded_server import listening, port_of, serving_on

HEADER_TIMEOUT_S = 1.0
KEEP_ALIVE_S = 1.0
WAIT_S = 15.0
"""How long a probe waits for the server to answer or close (never reached when it works)."""
GOOD = (
    f"GET /lambda/runtimes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
)


@contextmanager
def served(settings: Settings, target: FakeTarget | None = None) -> Iterator[str]:
    """The real app on a free port in a thread, with the control plane's uvicorn options;
    yields its base URL."""
    app = create_app(settings, target=target or FakeTarget())
    options: dict[str, Any] = {**server_options(settings), "log_level": "warning"}
    with listening() as sock:
        config = uvicorn.Config(app, host="127.0.0.1", port=port_of(sock), **options)
        with serving_on(config, sock, "served"):
            yield f"http://127.0.0.1:{port_of(sock)}"


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    limits = {"http_header_timeout_s": HEADER_TIMEOUT_S, "http_keep_alive_s": KEEP_ALIVE_S}
    with served(settings.model_copy(update=limits)) as url:
        yield url


def connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(WAIT_S)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # it closed with our unread bytes still queued
        pass
    return data


def status_and_error(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)["error"]["code"]


def send(base_url: str, request: bytes) -> bytes:
    with connect(base_url) as sock:
        # Refused before we finished sending: the answer is still there to read.
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return read_until_closed(sock)


def test_a_1_mb_header_is_refused_with_431(base_url: str) -> None:
    request = f"{GOOD}X-Big: {'a' * (1 << 20)}\r\nConnection: close\r\n\r\n".encode()
    assert status_and_error(send(base_url, request)) == (431, "headers_too_large")


def test_10k_headers_are_refused_with_431(base_url: str) -> None:
    headers = "".join(f"X-H{i}: v\r\n" for i in range(10_000))
    request = f"{GOOD}{headers}Connection: close\r\n\r\n".encode()
    assert status_and_error(send(base_url, request)) == (431, "headers_too_large")


def test_heads_within_the_limits_are_served(base_url: str) -> None:
    """A 60 KB cookie (a big session, a JWT) and 90 headers are still a normal request."""
    headers = "".join(f"X-H{i}: v\r\n" for i in range(90))
    request = f"{GOOD}Cookie: s={'c' * 60_000}\r\n{headers}Connection: close\r\n\r\n".encode()
    assert send(base_url, request).startswith(b"HTTP/1.1 200 ")


def test_a_body_is_not_counted_as_head(base_url: str) -> None:
    """Headers and a 70 KB body in one packet: the route reads the body (422 for bad JSON)."""
    body = b"[" * 70_000
    request = (
        f"POST /lambda HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    assert status_and_error(send(base_url, request + body)) == (422, "invalid_request")


def test_malformed_requests_get_the_json_error_shape(base_url: str) -> None:
    for request in (b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"):
        assert status_and_error(send(base_url, request)) == (400, "bad_request")


def test_300_half_open_connections_are_closed_and_others_still_served(base_url: str) -> None:
    socks = [connect(base_url) for _ in range(300)]
    try:
        for sock in socks:
            sock.sendall(GOOD.encode())  # never the blank line that ends the head
        assert send(base_url, f"{GOOD}Connection: close\r\n\r\n".encode()).startswith(
            b"HTTP/1.1 200 "
        )
        answers = [status_and_error(read_until_closed(sock)) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert set(answers) == {(408, "request_timeout")}


def test_a_slow_client_is_cut_off_even_while_it_keeps_sending(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(f"{GOOD}X-Slow: ".encode())
        answer = b""
        for _ in range(int(WAIT_S * 10)):
            try:
                sock.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.1)
            try:
                if not (chunk := sock.recv(4096)):
                    break
                answer += chunk
            except TimeoutError:
                continue
        sock.settimeout(WAIT_S)
        answer += read_until_closed(sock)
    assert status_and_error(answer) == (408, "request_timeout")


def test_a_connection_that_sends_nothing_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        assert status_and_error(read_until_closed(sock)) == (408, "request_timeout")


def test_an_idle_kept_alive_connection_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(f"{GOOD}\r\n".encode())
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1


def test_pipelined_requests_are_all_answered(base_url: str) -> None:
    request = f"{GOOD}\r\n".encode()
    last = f"{GOOD}Connection: close\r\n\r\n".encode()
    answer = send(base_url, request * 3 + last)
    assert answer.count(b"HTTP/1.1 200 ") == 4


def test_the_limits_are_settings(settings: Settings) -> None:
    options = server_options(settings.model_copy(update={"http_max_headers": 7}))
    assert options["http"].limits.max_headers == 7
    assert options["timeout_keep_alive"] == settings.http_keep_alive_s
