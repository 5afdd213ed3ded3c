"""Real Lambda code on the local target, through `/endpoint/{key}`: a `provided` custom runtime
(a shell `bootstrap` on the Runtime API), a Go `lambda.Start` program, Lambda's environment,
and Function-URL error answers (an unhandled error, a timeout) that tell the caller nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.fixtures.local_targets import make_spec
from tests.integration.api.invoke.conftest import InvokeServer

pytestmark = pytest.mark.timeout(300)
Serve = Callable[..., InvokeServer]
GO_PROGRAM = (Path(__file__).parents[2] / "runtimes" / "programs" / "lambda_start.go").read_text()
PY_LAMBDA = """
import json, os, time


def handler(event, context):
    if event["rawPath"] == "/fail":
        raise ValueError("the secret detail")
    if event["rawPath"] == "/slow":
        time.sleep(3)
    return {"statusCode": 200, "body": json.dumps({
        "region": os.environ["AWS_REGION"], "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "task": os.environ["LAMBDA_TASK_ROOT"],
        "handler": os.environ["_HANDLER"], "arn": context.invoked_function_arn,
        "left_ms": context.get_remaining_time_in_millis()})}
"""


def deploy_and_url(server: InvokeServer, **spec_args: object) -> str:
    spec = make_spec(**spec_args)  # type: ignore[arg-type]
    server.target.apply(spec, lambda _: None)
    return f"{server.url}/endpoint/{spec.key}"


def test_a_provided_shell_bootstrap_answers(serve: Serve) -> None:
    url = deploy_and_url(serve(), runtime="provided")
    answer = httpx.get(f"{url}/hi?x=1", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message": "Hello from a shell bootstrap", "params": {"x": "1"}}


def test_a_go_lambda_start_program_runs_unchanged(serve: Serve) -> None:
    url = deploy_and_url(serve(), runtime="golang", code=GO_PROGRAM, timeout_ms=5000)
    answer = httpx.get(f"{url}/hello?x=1", headers={"x-request-id": "go-local"}, timeout=30)
    assert (answer.status_code, answer.headers["x-go"]) == (201, "yes"), answer.text
    assert (answer.json()["x"], answer.json()["id"]) == ("1", "go-local")
    failed = httpx.get(f"{url}/fail", timeout=30)
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal Server Error"})
    assert failed.headers["x-amz-function-error"] == "Unhandled"


def test_lambda_environment_and_function_url_errors(serve: Serve) -> None:
    server = serve(aws_region="eu-west-3")
    url = deploy_and_url(server, runtime="python", code=PY_LAMBDA, memory_mb=256, timeout_ms=1000)
    body = httpx.get(f"{url}/ok", timeout=30).json()
    assert (body["region"], body["memory"], body["version"]) == ("eu-west-3", "256", "$LATEST")
    assert body["name"] == "test-python" and body["handler"] == "handler.handler"
    assert body["arn"] == "arn:aws:lambda:eu-west-3:000000000000:function:test-python"
    assert 0 < body["left_ms"] <= 1000
    for path in ("/fail", "/slow"):  # an unhandled error, then a timeout
        failed = httpx.get(f"{url}{path}", timeout=30)
        assert failed.status_code == 502, (path, failed.text)
        assert json.loads(failed.content) == {"message": "Internal Server Error"}
        assert failed.headers["x-amz-function-error"] == "Unhandled"
        assert b"secret" not in failed.content
