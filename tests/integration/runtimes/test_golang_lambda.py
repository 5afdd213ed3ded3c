"""A Go AWS Lambda program (`lambda.Start` from aws-lambda-go, modules downloaded from the Go
module proxy at build time) run unchanged behind the Runtime API worker."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fixtures.wrapper_harness import Serve, assert_invocation_logged
from tests.integration.runtimes.logs import error_record

PROGRAM = (Path(__file__).parent / "programs" / "lambda_start.go").read_text()


def test_a_lambda_start_program_runs_unchanged(serve_api: Serve) -> None:
    worker = serve_api("golang", {"handler.go": PROGRAM})
    reply = worker.get("/hello?x=1", {"x-request-id": "go-1"})
    assert (reply.status, reply.header("x-go")) == (201, "yes")
    body = reply.json()
    assert (body["path"], body["x"], body["id"]) == ("/hello", "1", "go-1")
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert 0 < body["left_ms"] <= 5000  # the harness's 5000 ms timeout, counting down
    assert (body["region"], body["name"]) == ("us-east-1", "test-fn")
    assert_invocation_logged(worker, "go-1")

    failed = worker.get("/fail", {"x-request-id": "go-2"})
    assert (failed.status, failed.json()) == (502, {"message": "Internal Server Error"})
    assert failed.header("x-amz-function-error") == "Unhandled"
    assert b"secret" not in failed.body
    record = error_record(worker, "go-2")
    assert (record["errorType"], record["errorMessage"]) == ("errorString", "secret detail")

    panicked = worker.get("/panic", {"x-request-id": "go-3"})
    assert (panicked.status, panicked.header("x-amz-function-error")) == (502, "Unhandled")
    assert "boom" in error_record(worker, "go-3")["errorMessage"]
    assert worker.get("/again?x=2").json()["x"] == "2"  # the program went on, or was restarted


def test_concurrent_requests_take_turns_on_one_program(serve_api: Serve) -> None:
    worker = serve_api("golang", {"handler.go": PROGRAM})

    def call(i: int) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
        conn.request("GET", f"/c?x={i}", headers={"x-request-id": f"c-{i}"})
        reply = conn.getresponse()
        body = json.loads(reply.read())
        conn.close()
        return reply.status, body["x"], body["id"]

    with ThreadPoolExecutor(6) as pool:
        results = sorted(pool.map(call, range(6)))
    assert results == [(201, str(i), f"c-{i}") for i in range(6)]
