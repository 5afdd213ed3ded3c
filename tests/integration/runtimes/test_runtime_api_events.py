"""Runtime API workers (runtimes/provided: a `provided` bootstrap, Go's `lambda.Start`) get the
same event options as the Python wrapper whose HTTP side they reuse: the payload 1.0 event,
route templates and API Gateway's 404 (real processes)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtimes.contract import event_env
from runtimes.registry import driver
from tests.fixtures.wrapper_harness import Worker, pinned_toolchain, start_worker

# A bootstrap answering each event with `{statusCode: 200, body: <the event as JSON>}`.
BOOTSTRAP = """
    #!/usr/bin/env python3
    import json, os, urllib.request

    API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as answer:
            request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
            event = answer.read().decode()
        result = json.dumps({"statusCode": 200, "body": event}).encode()
        done = urllib.request.Request(API + "/invocation/" + request_id + "/response", result)
        urllib.request.urlopen(done).read()
"""
StartApi = Callable[..., Worker]


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[StartApi]:
    workers: list[Worker] = []

    def start(**options: object) -> Worker:
        code_dir, work_dir = tmp_path / f"code{len(workers)}", tmp_path / f"work{len(workers)}"
        code_dir.mkdir()
        (code_dir / "bootstrap").write_text(textwrap.dedent(BOOTSTRAP).lstrip())
        argv = driver("provided").launch(pinned_toolchain("python"), None)
        env = event_env(**options)  # type: ignore[arg-type]
        worker = start_worker("python", code_dir, work_dir, extra_env=env, command=argv)
        workers.append(worker)
        worker.wait_healthy()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def test_a_runtime_api_function_gets_the_1_0_event_and_its_routes(start_api: StartApi) -> None:
    worker = start_api(event_format="1.0", routes=["GET /items/{id}"])
    event = worker.get("/items/7?a=1&a=2").json()
    assert (event["version"], event["resource"], event["pathParameters"]) == (
        "1.0",
        "/items/{id}",
        {"id": "7"},
    )
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    missing = worker.get("/other")
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})


def test_a_runtime_api_function_gets_the_route_key_in_2_0(start_api: StartApi) -> None:
    worker = start_api(routes=["ANY /files/{proxy+}"])
    event = worker.request("POST", "/files/a/b", body="x").json()
    assert (event["routeKey"], event["pathParameters"]) == ("ANY /files/{proxy+}", {"proxy": "a/b"})
