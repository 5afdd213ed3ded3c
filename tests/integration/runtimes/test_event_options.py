"""The Lambda convention's event options, alike in the Python and node wrappers (real
processes): the REST API payload 1.0 event and its result rules, route templates
(`routeKey`/`resource`, `pathParameters`, 404 when none matches), and a bad option refused
at load. Node's response streaming is in test_node_streaming.py."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtimes.contract import event_env
from tests.fixtures.wrapper_harness import Worker, assert_load_failure, start_worker

ServeOptions = Callable[..., Worker]
RUNTIMES = ["node", "python"]
# A handler answering with the event it got; `/raw/<kind>` returns a raw value instead.
ECHO = {
    "python": (
        "app.py",
        """
        import json

        RAW = {"string": "text", "dict": {"a": 1}, "none": None}


        def handler(event, context):
            path = event.get("path") or event.get("rawPath")
            if path.startswith("/raw/"):
                return RAW[path[5:]]
            if path == "/multi":
                return {"statusCode": 201, "headers": {"x-one": "1", "x-both": "single"},
                        "multiValueHeaders": {"x-both": ["m1", "m2"]}, "body": "ok"}
            return {"statusCode": 200, "body": json.dumps(event)}
        """,
    ),
    "node": (
        "app.mjs",
        """
        const RAW = { string: 'text', dict: { a: 1 }, none: null };
        export const handler = async (event) => {
          const path = event.path ?? event.rawPath;
          if (path.startsWith('/raw/')) return RAW[path.slice(5)];
          if (path === '/multi') {
            return { statusCode: 201, headers: { 'x-one': '1', 'x-both': 'single' },
              multiValueHeaders: { 'x-both': ['m1', 'm2'] }, body: 'ok' };
          }
          return { statusCode: 200, body: JSON.stringify(event) };
        };
        """,
    ),
}
ROUTES = ["GET /items/{id}", "POST /items", "ANY /files/{proxy+}", "GET /"]


@pytest.fixture
def serve_options(tmp_path: Path, pycache: Path) -> Iterator[ServeOptions]:
    """serve_options(runtime, event_format=..., routes=[...]) -> the ECHO worker, started
    with the event options as `worker_env` gives them."""
    workers: list[Worker] = []

    def start(runtime: str, *, extra: dict[str, str] | None = None, **options: object) -> Worker:
        code_dir, work_dir = tmp_path / f"code{len(workers)}", tmp_path / f"work{len(workers)}"
        code_dir.mkdir()
        filename, source = ECHO[runtime]
        (code_dir / filename).write_text(textwrap.dedent(source).lstrip())
        env = {**event_env(**options), **(extra or {})}  # type: ignore[arg-type]
        worker = start_worker(
            runtime, code_dir, work_dir, handler="app.handler", pycache=pycache, extra_env=env
        )
        workers.append(worker)
        worker.wait_healthy()  # 200, or 500 once a load failure is known
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_payload_1_0_event_shape(serve_options: ServeOptions, runtime: str) -> None:
    worker = serve_options(runtime, event_format="1.0")
    reply = worker.request(
        "PUT",
        "/p/q?b=2&a=1&a=3",
        body="hello",
        headers={
            "content-type": "text/plain",
            "x-request-id": "rid-1",
            "Cookie": "c1=v1",
            "User-Agent": "tester/1",
        },
    )
    event = reply.json()
    assert (event["version"], event["httpMethod"], event["path"]) == ("1.0", "PUT", "/p/q")
    assert event["resource"] == "/p/q" and event["pathParameters"] is None
    assert event["queryStringParameters"] == {"a": "3", "b": "2"}  # the last value
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "3"], "b": ["2"]}
    assert event["headers"]["cookie"] == "c1=v1"  # 1.0 has no `cookies`: the header stays
    assert event["multiValueHeaders"]["user-agent"] == ["tester/1"]
    assert event["stageVariables"] is None and "rawPath" not in event
    assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
    context = event["requestContext"]
    assert (context["httpMethod"], context["path"], context["resourcePath"]) == (
        "PUT",
        "/p/q",
        "/p/q",
    )
    assert (context["stage"], context["requestId"]) == ("$default", "rid-1")
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tester/1" and context["identity"]["user"] is None
    assert isinstance(context["requestTimeEpoch"], int) and context["requestTime"].endswith("+0000")
    empty = worker.get("/e").json()
    assert empty["queryStringParameters"] is None and empty["body"] is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_payload_1_0_result_rules(serve_options: ServeOptions, runtime: str) -> None:
    worker = serve_options(runtime, event_format="1.0")
    multi = worker.get("/multi")
    assert (multi.status, multi.body) == (201, b"ok")
    assert multi.header("x-one") == "1"
    assert multi.headers.get_all("x-both") == ["m1", "m2"]  # multiValueHeaders win
    for kind in ("string", "dict", "none"):  # 2.0 would infer a 200; 1.0 infers nothing
        failed = worker.get(f"/raw/{kind}")
        assert (failed.status, failed.json()) == (502, {"message": "Internal Server Error"})
        assert failed.header("x-amz-function-error") == "Unhandled"
    assert "InvalidResponse" in worker.stderr()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_payload_2_0_still_infers_a_result(serve_options: ServeOptions, runtime: str) -> None:
    reply = serve_options(runtime).get("/raw/string")
    assert (reply.status, reply.json()) == (200, "text")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_routes_give_route_key_and_path_parameters(
    serve_options: ServeOptions, runtime: str
) -> None:
    worker = serve_options(runtime, routes=ROUTES)
    item = worker.get("/items/a%20b").json()
    assert item["routeKey"] == item["requestContext"]["routeKey"] == "GET /items/{id}"
    assert item["pathParameters"] == {"id": "a b"}  # decoded; rawPath stays raw
    assert item["rawPath"] == "/items/a%20b"
    files = worker.request("DELETE", "/files/a/b/c.txt").json()
    assert (files["routeKey"], files["pathParameters"]) == (
        "ANY /files/{proxy+}",
        {"proxy": "a/b/c.txt"},
    )
    created = worker.request("POST", "/items", body="{}").json()
    assert created["routeKey"] == "POST /items" and "pathParameters" not in created
    assert worker.get("/").json()["routeKey"] == "GET /"


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/items"),
        ("PUT", "/items/1"),
        ("GET", "/items/1/more"),
        ("GET", "/files/"),
        ("GET", "/items/"),
        ("GET", "/nowhere"),
    ],
)
def test_no_matching_route_is_404_without_calling_the_handler(
    serve_options: ServeOptions, runtime: str, method: str, path: str
) -> None:
    worker = serve_options(runtime, routes=ROUTES)
    reply = worker.request(method, path)
    assert (reply.status, reply.json()) == (404, {"message": "Not Found"})
    assert reply.header("x-amz-function-error") is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_routes_in_payload_1_0_set_resource(serve_options: ServeOptions, runtime: str) -> None:
    worker = serve_options(runtime, event_format="1.0", routes=[*ROUTES, "$default"])
    event = worker.get("/items/42?x=1").json()
    assert (event["resource"], event["requestContext"]["resourcePath"]) == ("/items/{id}",) * 2
    assert (event["path"], event["pathParameters"]) == ("/items/42", {"id": "42"})
    fallback = worker.get("/elsewhere").json()  # `$default` takes what the others do not
    assert (fallback["resource"], fallback["pathParameters"]) == ("/elsewhere", None)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    "env",
    [
        {"LAMBDA_EVENT_FORMAT": "3.0"},
        {"LAMBDA_ROUTES": "not json"},
        {"LAMBDA_ROUTES": json.dumps(["FETCH /x"])},
    ],
)
def test_a_bad_option_is_a_load_error(
    serve_options: ServeOptions, runtime: str, env: dict[str, str]
) -> None:
    worker = serve_options(runtime, extra=env)
    assert_load_failure(worker, "LAMBDA_")
