"""A real `lambdaclone serve` with `data_plane=go`: the Go process serves the public port,
proxies warm functions (real local workers, sandboxed when the machine allows) itself and hands
everything else — the API, cold functions, refused tokens — to the control plane behind it.

A response the Go data plane produced has no `server` header; one that came through it from
the control plane (uvicorn) has `server: uvicorn`. That is how the tests tell who answered."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.dataplane.build import built_binary
from tests.fixtures.api import error_code
from tests.integration.engine.local.served import Served

pytestmark = pytest.mark.timeout(300)
IDLE_S = 4.0
PYTHON = """
import time

def handler(event, context):
    if event.get("rawPath", "").endswith("/slow"):
        time.sleep(1.5)
    return {"runtime": "python", "path": event["rawPath"], "query": event.get("rawQueryString")}
"""
NODE = """
exports.handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({ runtime: 'node', path: event.rawPath }),
});
"""
ORIGINAL_SLOW = """
import time

def handler():
    time.sleep(1.5)
    return {"slow": True}
"""
NO_AUTH = {"Authorization": ""}
MAX_PAYLOAD = 100_000
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def plane(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    built_binary()  # once, before the first start's clock runs
    data_dir = tmp_path_factory.mktemp("dp") / "data"
    data_dir.mkdir()
    settings = {
        "mongodb_uri": mongo_uri,
        "database": "t_go_data_plane",
        "data_plane": "go",
        "invoke_queue_depth": "1",
        "invoke_queue_wait_ms": "300",
        "idle_timeout_s": str(IDLE_S),
        "max_payload_bytes": str(MAX_PAYLOAD),
        "worker_start_timeout_s": "30",  # a loaded machine starts a worker slowly
    }
    served = Served(data_dir, settings=settings).wait_serving()
    yield served
    served.stop()


def deploy(plane: Served, code: str, runtime: str, **fields: Any) -> str:
    version = {"python": "3.12", "node": "20"}[runtime]
    body = {"name": f"dp-{runtime}", "file": code, "runtime": runtime, "version": version}
    made = plane.http.post("/lambda", json=body | fields, params={"wait": "true"})
    assert made.status_code == 200, made.text
    key: str = made.json()["function"]["key"]
    return key


def by_data_plane(plane: Served, path: str, **kwargs: Any) -> httpx.Response:
    """Invokes until the Go data plane answers itself (the first call warms the function
    through the control plane, which then pushes its route)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        answer = plane.http.get(path, **kwargs)
        if "server" not in answer.headers:
            return answer
        assert time.monotonic() < deadline, f"never served by the data plane: {answer.headers}"
        time.sleep(0.02)


@pytest.mark.parametrize(("runtime", "code"), [("python", PYTHON), ("node", NODE)])
def test_warm_functions_are_served_by_the_data_plane(
    plane: Served, runtime: str, code: str
) -> None:
    key = deploy(plane, code, runtime)
    path = f"/endpoint/{key}/a%20b/c?x=1"
    first = plane.http.get(path, headers={"x-request-id": "rq-0"})  # the control plane's proxy
    assert first.status_code == 200 and first.headers["server"] == "uvicorn", first.text
    answer = by_data_plane(plane, path, headers={"x-request-id": "rq-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == first.json()  # the worker saw the same request
    assert answer.json()["runtime"] == runtime
    assert answer.headers["x-request-id"] == "rq-1"
    assert answer.headers["content-type"] == first.headers["content-type"]
    fresh = plane.http.get(f"/endpoint/{key}", headers={"x-request-id": "bad id"})
    assert len(fresh.headers["x-request-id"]) == 36  # a Lambda-shaped id instead
    reserved = plane.http.get(f"/endpoint/{key}/__lambdaclone/health")
    assert reserved.status_code == 404 and error_code(reserved) == "not_found"


def test_report_lines_and_stats_keep_working(plane: Served) -> None:
    key = deploy(plane, PYTHON, "python")
    by_data_plane(plane, f"/endpoint/{key}")
    answer = plane.http.get(f"/endpoint/{key}", headers={"x-request-id": "report-me"})
    assert answer.status_code == 200 and "server" not in answer.headers
    deadline = time.monotonic() + DEADLINE_S
    while True:
        logs = plane.http.get("/lambda/logs", params={"key": key}).json()
        reports = [ln for ln in logs["lines"] if "REPORT RequestId: report-me" in str(ln)]
        if reports and logs["stats"]["invocations"] >= 2:
            break
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)


def test_over_the_cap_and_its_queue_is_429(plane: Served) -> None:
    key = deploy(plane, PYTHON, "python", concurrency=1)
    by_data_plane(plane, f"/endpoint/{key}")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: plane.http.get(f"/endpoint/{key}/slow"), range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 1 and statuses.count(429) >= 2, statuses
    for refused in (a for a in answers if a.status_code == 429):
        assert refused.headers["retry-after"] == "1"
        assert error_code(refused) == "too_many_requests"
        assert "server" not in refused.headers


def test_token_functions_refuse_missing_and_revoked_tokens(plane: Served) -> None:
    key = deploy(plane, PYTHON, "python", auth="token")
    made = plane.http.post("/lambda/tokens", json={"name": "dp-inv", "role": "invoker"}).json()
    bearer = {"Authorization": f"Bearer {made['secret']}"}
    listed = plane.http.get("/lambda/tokens").json()["items"]
    token_id = next(t["id"] for t in listed if t["name"] == "dp-inv")
    assert by_data_plane(plane, f"/endpoint/{key}", headers=bearer).status_code == 200
    refused = plane.http.get(f"/endpoint/{key}", headers=NO_AUTH)
    assert refused.status_code == 401 and error_code(refused) == "unauthenticated"
    assert plane.http.delete(f"/lambda/tokens/{token_id}").status_code == 200
    deadline = time.monotonic() + DEADLINE_S
    while (revoked := plane.http.get(f"/endpoint/{key}", headers=bearer)).status_code == 200:
        assert time.monotonic() < deadline, "a revoked token kept invoking"
        time.sleep(0.01)
    assert revoked.status_code == 401 and error_code(revoked) == "unauthenticated"
    for _ in range(2):  # and it stays refused (more would meet the failure limit: 429)
        assert plane.http.get(f"/endpoint/{key}", headers=bearer).status_code == 401


def test_scaled_to_zero_comes_back_through_the_control_plane(plane: Served) -> None:
    key = deploy(plane, PYTHON, "python")
    assert by_data_plane(plane, f"/endpoint/{key}").status_code == 200
    deadline = time.monotonic() + IDLE_S + DEADLINE_S
    while "scaled to zero" not in str(plane.http.get("/lambda/logs", params={"key": key}).json()):
        assert time.monotonic() < deadline, "never scaled to zero"
        time.sleep(0.2)
    # the route's removal reaches the data plane at its next sync tick: until then a request
    # may still reach the stopping worker (and be answered); then the control plane starts it
    deadline = time.monotonic() + DEADLINE_S
    while "server" not in (cold := plane.http.get(f"/endpoint/{key}/again")).headers:
        assert cold.status_code == 200, cold.text
        assert time.monotonic() < deadline, "the data plane kept the scaled-down route"
        time.sleep(0.02)
    assert cold.status_code == 200 and cold.json()["path"] == "/again"
    assert cold.headers["server"] == "uvicorn"  # started by the control plane's proxy
    assert by_data_plane(plane, f"/endpoint/{key}").status_code == 200


def test_timeouts_answer_in_each_conventions_shape(plane: Served) -> None:
    lambda_style = deploy(plane, PYTHON, "python", timeout_ms=300)
    original = deploy(plane, ORIGINAL_SLOW, "python", timeout_ms=300)
    by_data_plane(plane, f"/endpoint/{lambda_style}")
    failed = plane.http.get(f"/endpoint/{lambda_style}/slow", headers={"x-request-id": "t-1"})
    assert failed.status_code == 502 and "server" not in failed.headers
    assert failed.headers["x-amz-function-error"] == "Unhandled"
    assert failed.json() == {"message": "Internal Server Error"}
    assert failed.headers["x-request-id"] == "t-1"
    plane.http.get(f"/endpoint/{original}")  # warms it through the control plane
    deadline = time.monotonic() + DEADLINE_S
    while "server" in (timed_out := plane.http.get(f"/endpoint/{original}")).headers:
        assert time.monotonic() < deadline, "never served by the data plane"
    assert timed_out.status_code == 504 and error_code(timed_out) == "function_timed_out"
    assert timed_out.json()["error"]["detail"]["timeout_ms"] == 300
    assert timed_out.headers["x-request-id"] == timed_out.json()["error"]["detail"]["request_id"]


def test_bodies_over_the_limit_are_413_before_they_are_read(plane: Served) -> None:
    key = deploy(plane, NODE, "node")
    by_data_plane(plane, f"/endpoint/{key}")
    refused = plane.http.post(f"/endpoint/{key}", content=b"x" * (MAX_PAYLOAD + 1))
    assert refused.status_code == 413 and error_code(refused) == "payload_too_large"
    assert "server" not in refused.headers
    assert plane.http.post(f"/endpoint/{key}", content=b"x" * MAX_PAYLOAD).status_code == 200


def test_unknown_keys_and_the_api_are_the_control_planes(plane: Served) -> None:
    unknown = plane.http.get("/endpoint/no-such-function-key-at-all")
    assert unknown.status_code == 404 and error_code(unknown) == "function_not_found"
    assert unknown.headers["server"] == "uvicorn"
    assert plane.http.get("/lambda/runtimes").status_code == 200


def test_a_data_plane_that_dies_is_restarted(plane: Served) -> None:
    key = deploy(plane, NODE, "node")
    by_data_plane(plane, f"/endpoint/{key}")
    (child,) = data_planes_of(plane.proc.pid)
    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_S
    while True:  # the new process exists a moment before it listens
        with contextlib.suppress(httpx.TransportError):
            if data_planes_of(plane.proc.pid) not in ([], [child]):
                assert by_data_plane(plane, f"/endpoint/{key}").status_code == 200
                return
        assert time.monotonic() < deadline, "the data plane was not restarted"
        time.sleep(0.05)


def data_planes_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            if int(fields[1]) == parent and name == "dataplane" and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def test_no_data_plane_outlives_the_control_plane(tmp_path: Path, mongo_uri: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = {"mongodb_uri": mongo_uri, "database": "t_go_dp_kill", "data_plane": "go"}
    served = Served(data_dir, settings=settings).wait_serving()
    served.kill()  # SIGKILL of the control plane alone
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            httpx.get(f"{served.url}/lambda/runtimes", timeout=1)
        except httpx.TransportError:
            break  # nobody serves the public port any more
        assert time.monotonic() < deadline, "the data plane kept serving"
        time.sleep(0.05)
