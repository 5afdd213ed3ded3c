"""`/endpoint/{key}` through a real uvicorn, the invoke router and real worker processes."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.proxy import OVERRUN_GRACE_S
from engine.spec import FunctionSpec
from runtimes.registry import RuntimeName
from tests.fixtures.api import AUTH
from tests.fixtures.local_targets import (
    NODE_SPIN,
    PY_ECHO,
    make_spec,
    pid_alive,
    wait_until,
    worker_pid,
)
from tests.integration.api.invoke.conftest import InvokeServer

pytestmark = pytest.mark.timeout(300)
Serve = Callable[..., InvokeServer]


def deploy(server: InvokeServer, spec: FunctionSpec) -> FunctionSpec:
    server.target.apply(spec, lambda _: None)
    return spec


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def assert_function_url_error(response: httpx.Response) -> None:
    """A Lambda-convention function that failed (crashed, timed out) answers as a Function
    URL does: 502, a generic body, the error header; nothing about why."""
    assert response.status_code == 502, response.text
    assert response.json() == {"message": "Internal Server Error"}
    assert response.headers["x-amz-function-error"] == "Unhandled"


def test_method_path_query_headers_and_body_pass_through(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    response = httpx.post(
        f"{server.url}/endpoint/{spec.key}/some/path?a=1&b=two&b=three",
        content=b'{"hello": "world"}',
        headers={
            "content-type": "application/json",
            "x-custom": "yes",
            "x-request-id": "my-id-1",
            "connection": "keep-alive, x-hop",
            "x-hop": "secret",
            "keep-alive": "timeout=5",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "my-id-1"
    assert response.headers["x-from"] == "python"
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/some/path"
    assert echo["query"] == "a=1&b=two&b=three"
    assert echo["body"] == '{"hello": "world"}'
    assert echo["requestId"] == "my-id-1"
    headers = echo["headers"]
    assert headers["x-custom"] == "yes"
    assert headers["host"] == f"{server.host}:{server.port}"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    for hop in ("x-hop", "keep-alive", "connection", "transfer-encoding"):
        assert hop not in headers


def test_a_request_id_is_generated_and_binary_bodies_survive(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    payload = bytes(range(256))
    response = httpx.put(
        f"{server.url}/endpoint/{spec.key}",
        content=payload,
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 200
    echo = response.json()
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id)
    assert echo["requestId"] == request_id
    assert echo["path"] == "/"
    assert echo["isBase64Encoded"] is True
    assert base64.b64decode(echo["body"]) == payload


@pytest.mark.parametrize("runtime", ["python", "node", "golang"])
def test_default_code_answers_through_the_endpoint(serve: Serve, runtime: RuntimeName) -> None:
    server = serve()
    spec = deploy(server, make_spec(runtime))
    response = httpx.get(f"{server.url}/endpoint/{spec.key}", params={"x": "1"})
    assert response.status_code == 200
    assert response.json()["params"]["x"] in ("1", ["1"])
    assert response.headers["content-type"].startswith("application/json")


def test_unknown_and_deleted_functions_are_404(serve: Serve) -> None:
    server = serve()
    missing = httpx.get(f"{server.url}/endpoint/nosuchfunction/x")
    assert (missing.status_code, error_code(missing)) == (404, "function_not_found")

    spec = deploy(server, make_spec("node"))
    assert httpx.get(f"{server.url}/endpoint/{spec.key}").status_code == 200
    server.target.destroy(spec.key, lambda _: None)
    gone = httpx.get(f"{server.url}/endpoint/{spec.key}")
    assert (gone.status_code, error_code(gone)) == (404, "function_not_found")


def _raw_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def test_oversize_body_is_refused_from_content_length_before_reading(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(
            f"POST /endpoint/{spec.key} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {7 * 1024 * 1024}\r\n\r\n".encode()
        )
        status, _, body = _raw_response(sock)  # not one byte of the body was sent
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_oversize_chunked_body_is_refused_while_streaming(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    chunk = b"x" * (1024 * 1024)
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(
            f"POST /endpoint/{spec.key} HTTP/1.1\r\nHost: x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            for _ in range(12):  # up to 12 MB: the server answers once it passes 6 MB
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server answered and closed while we were still sending
        status, _, body = _raw_response(sock)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def start_slow(url: str, seconds: float) -> tuple[threading.Thread, dict[str, Any]]:
    """A request that sleeps `seconds` in the worker, in a thread; its answer."""
    slow: dict[str, Any] = {}

    def call() -> None:
        slow["r"] = httpx.get(f"{url}?sleep={seconds}", timeout=20)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, slow


def test_concurrency_cap_without_a_queue_answers_429_with_retry_after(serve: Serve) -> None:
    server = serve(invoke_queue_depth=0)
    spec = deploy(server, make_spec("python", PY_ECHO, concurrency=1, timeout_ms=10_000))
    url = f"{server.url}/endpoint/{spec.key}"
    thread, slow = start_slow(url, 2)
    wait_until(lambda: server.inflight(spec.key) == 1, what="in flight")
    throttled = httpx.get(url)
    thread.join()
    assert (throttled.status_code, error_code(throttled)) == (429, "too_many_requests")
    assert throttled.headers["retry-after"] == "1"
    assert slow["r"].status_code == 200
    assert httpx.get(url).status_code == 200


def test_a_request_over_the_cap_waits_for_a_place_then_runs(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO, concurrency=1, timeout_ms=10_000))
    url = f"{server.url}/endpoint/{spec.key}"
    started = time.monotonic()
    thread, slow = start_slow(url, 1)
    wait_until(lambda: server.inflight(spec.key) == 1, what="in flight")
    queued = httpx.get(url, timeout=20)
    waited = time.monotonic() - started
    thread.join()
    assert queued.status_code == 200
    assert slow["r"].status_code == 200
    assert waited >= 1.0  # it reached the worker only once the first one's 1 s sleep ended
    assert server.inflight(spec.key) == 0


def test_a_full_queue_or_a_long_wait_answers_429(serve: Serve) -> None:
    # the waiter gives up after 2 s, while the first request still runs (5 s): margins wide
    # enough that a loaded machine's slow `full` request still finds the waiter queued
    server = serve(invoke_queue_depth=1, invoke_queue_wait_ms=2000)
    spec = deploy(server, make_spec("python", PY_ECHO, concurrency=1, timeout_ms=10_000))
    url = f"{server.url}/endpoint/{spec.key}"
    thread, slow = start_slow(url, 5)
    wait_until(lambda: server.inflight(spec.key) == 1, what="in flight")
    waiting: dict[str, httpx.Response] = {}
    waiter = threading.Thread(target=lambda: waiting.update(r=httpx.get(url, timeout=20)))
    waiter.start()
    upstream = server.upstream(spec.key)
    assert upstream is not None
    wait_until(lambda: server.proxy.admission.waiting(upstream) == 1, what="queued")
    full = httpx.get(url)  # the one place in the queue is taken
    waiter.join()
    thread.join()
    assert (full.status_code, error_code(full)) == (429, "too_many_requests")
    assert (waiting["r"].status_code, error_code(waiting["r"])) == (429, "too_many_requests")
    assert "queued" in waiting["r"].json()["error"]["message"]
    assert slow["r"].status_code == 200
    assert server.inflight(spec.key) == 0


def test_a_crash_is_502_and_the_worker_comes_back(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    url = f"{server.url}/endpoint/{spec.key}"
    pid = worker_pid(server.target, spec.key)
    crashed = httpx.get(url + "?crash=1")
    assert_function_url_error(crashed)  # a Lambda-convention function: as a Function URL
    wait_until(lambda: httpx.get(url).status_code == 200, what="the restarted worker")
    assert worker_pid(server.target, spec.key) != pid


def test_a_timeout_is_504_and_a_responsive_worker_is_kept(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO, timeout_ms=500))
    url = f"{server.url}/endpoint/{spec.key}"
    pid = worker_pid(server.target, spec.key)
    slow = httpx.get(url + "?sleep=1.4", timeout=20)
    assert_function_url_error(slow)  # a timeout, answered as a Function URL does
    assert httpx.get(url).status_code == 200
    time.sleep(1.5)  # health answered and the sleep ended within the grace: nothing was killed
    assert worker_pid(server.target, spec.key) == pid
    assert server.inflight(spec.key) == 0


def test_a_timed_out_request_keeps_its_concurrency_place_until_it_ends(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO, concurrency=1, timeout_ms=500))
    url = f"{server.url}/endpoint/{spec.key}"
    pid = worker_pid(server.target, spec.key)
    started = time.monotonic()
    slow = httpx.get(url + "?sleep=1.2", timeout=20)
    assert_function_url_error(slow)
    # the handler is still sleeping in its thread: a second request waits for its place
    queued = httpx.get(url, timeout=20)
    assert queued.status_code == 200
    assert time.monotonic() - started >= 1.2
    assert server.inflight(spec.key) == 0
    assert worker_pid(server.target, spec.key) == pid  # it ended within timeout + grace


def test_a_request_running_past_its_timeout_and_grace_restarts_the_worker(serve: Serve) -> None:
    server = serve(invoke_queue_depth=0)
    spec = deploy(server, make_spec("python", PY_ECHO, concurrency=1, timeout_ms=500))
    url = f"{server.url}/endpoint/{spec.key}"
    pid = worker_pid(server.target, spec.key)
    assert pid is not None
    started = time.monotonic()
    stuck = httpx.get(url + "?sleep=60", timeout=20)
    assert_function_url_error(stuck)
    assert httpx.get(url).status_code == 429  # still running, still counted
    wait_until(lambda: not pid_alive(pid), what="the worker to be killed")
    assert time.monotonic() - started >= 0.5 + OVERRUN_GRACE_S
    wait_until(lambda: httpx.get(url).status_code == 200, what="the restarted worker")
    assert worker_pid(server.target, spec.key) not in (None, pid)
    messages = [str(line["message"]) for line in server.target.logs(spec.key, 100)]
    assert any(f"worker pid {pid} still running a request past its timeout" in m for m in messages)


def test_the_wrappers_health_path_is_not_an_invocation(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    base = f"{server.url}/endpoint/{spec.key}"
    for suffix in ("/__lambdaclone/health", "/__lambdaclone%2Fhealth", "/%5F_lambdaclone/health"):
        reserved = httpx.get(base + suffix)
        assert (reserved.status_code, error_code(reserved)) == (404, "not_found"), suffix
    near = httpx.get(base + "/__lambdaclone/healthz")
    assert (near.status_code, near.json()["path"]) == (200, "/__lambdaclone/healthz")
    logs = httpx.get(f"{server.url}/lambda/logs", params={"key": spec.key}, headers=AUTH)
    assert logs.status_code == 200, logs.text
    stats = logs.json()["stats"]
    assert stats["invocations"] == 1  # only /healthz reached the function


def test_a_hung_worker_is_504_then_killed_and_restarted(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("node", NODE_SPIN, timeout_ms=500))
    url = f"{server.url}/endpoint/{spec.key}"
    pid = worker_pid(server.target, spec.key)
    assert pid is not None
    hung = httpx.get(url + "?spin=1", timeout=20)
    assert (hung.status_code, error_code(hung)) == (504, "function_timed_out")
    wait_until(lambda: not pid_alive(pid), what="the hung worker to be killed")
    wait_until(lambda: httpx.get(url).status_code == 200, what="the restarted worker")
    messages = [str(line["message"]) for line in server.target.logs(spec.key, 100)]
    assert any("hung" in m for m in messages)


def test_an_idle_function_scales_to_zero_and_cold_starts(serve: Serve) -> None:
    server = serve(idle_timeout_s=0.5)
    spec = deploy(server, make_spec("node", timeout_ms=500))
    url = f"{server.url}/endpoint/{spec.key}"
    assert httpx.get(url).status_code == 200
    pid = worker_pid(server.target, spec.key)
    assert pid is not None
    wait_until(lambda: not pid_alive(pid), what="scale to zero")
    assert server.target.status(spec.key)["state"] == "stopped"
    cold = httpx.get(url, params={"again": "1"})
    assert cold.status_code == 200
    assert cold.json()["params"]["again"] == "1"
    assert worker_pid(server.target, spec.key) not in (None, pid)


def test_concurrent_requests_share_one_cold_start(serve: Serve) -> None:
    server = serve(idle_timeout_s=0.5)
    spec = deploy(server, make_spec("python", timeout_ms=500))
    pid = worker_pid(server.target, spec.key)
    assert pid is not None
    wait_until(lambda: not pid_alive(pid), what="scale to zero")
    results: list[int] = []
    url = f"{server.url}/endpoint/{spec.key}"
    threads = [
        threading.Thread(target=lambda: results.append(httpx.get(url, timeout=30).status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    starts = [
        line for line in server.target.logs(spec.key, 200) if " healthy on " in str(line["message"])
    ]
    assert len(starts) == 2  # the deploy's worker and one cold start


def test_updates_under_traffic_never_fail_a_request(serve: Serve) -> None:
    server = serve()
    v1 = deploy(server, make_spec("python", PY_ECHO, timeout_ms=2000))
    url = f"{server.url}/endpoint/{v1.key}"
    statuses: list[int] = []
    versions: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                response = client.get(url)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    versions.append(response.json()["version"])

    thread = threading.Thread(target=traffic)
    thread.start()
    # each change waits for traffic to have seen the state before it (not for a fixed time:
    # a loaded machine may take longer than any sleep to send the first request)
    wait_until(lambda: "v1" in versions, what="v1 served under traffic")
    deploy(server, make_spec("python", PY_ECHO, key=v1.key, env={"ECHO_VERSION": "v2"}))
    wait_until(lambda: versions[-1] == "v2", what="v2 served under traffic")
    broken = make_spec("python", "def handler(:\n", key=v1.key)
    with pytest.raises(Exception, match="HandlerLoadError"):
        deploy(server, broken)
    served = len(versions)
    wait_until(lambda: len(versions) > served, what="traffic after the failed deploy")
    stop.set()
    thread.join()
    assert set(statuses) == {200}
    assert versions[0] == "v1" and versions[-1] == "v2"


def test_logs_endpoint_returns_the_report_lines(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    request_id = f"logs-{uuid.uuid4().hex[:8]}"
    invoked = httpx.get(f"{server.url}/endpoint/{spec.key}", headers={"x-request-id": request_id})
    assert invoked.status_code == 200

    def report() -> list[str]:
        logs = httpx.get(
            f"{server.url}/lambda/logs", params={"key": spec.key, "limit": 50}, headers=AUTH
        )
        assert logs.status_code == 200
        return [
            str(line["message"])
            for line in logs.json()["lines"]
            if str(line["message"]).startswith(f"REPORT RequestId: {request_id}")
        ]

    wait_until(report, what="the REPORT line")
    line = report()[0]
    for part in ("Duration:", "Billed Duration:", "Max Memory Used:"):
        assert part in line
    body = httpx.get(f"{server.url}/lambda/logs", params={"key": spec.key}, headers=AUTH).json()
    assert body["stats"]["invocations"] == 1
    missing = httpx.get(f"{server.url}/lambda/logs", params={"key": "nosuchfunction"}, headers=AUTH)
    assert (missing.status_code, error_code(missing)) == (404, "function_not_found")


def test_head_and_options_reach_the_function(serve: Serve) -> None:
    server = serve()
    spec = deploy(server, make_spec("python", PY_ECHO))
    url = f"{server.url}/endpoint/{spec.key}/h"
    head = httpx.head(url, headers={"x-request-id": "same-id"})
    get = httpx.get(url, headers={"x-request-id": "same-id"})
    assert head.status_code == 200
    assert head.content == b""
    # the worker's Content-Length for HEAD passes through (the echo says "HEAD", not "GET")
    assert int(head.headers["content-length"]) == len(get.content) + 1
    options = httpx.options(url)
    assert (options.status_code, options.json()["method"]) == (200, "OPTIONS")
