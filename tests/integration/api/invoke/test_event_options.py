"""A function's event options through `/endpoint/{key}` on the local target (real control
plane proxy, real workers): a REST API payload 1.0 function, a routed function with
`pathParameters` (and API Gateway's 404 for a path no route takes), and a streamed
node function, passed on chunk by chunk (and cut off at its timeout)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.fixtures.local_targets import make_spec
from tests.integration.api.invoke.conftest import InvokeServer

pytestmark = pytest.mark.timeout(300)
Serve = Callable[..., InvokeServer]
PY_ECHO = """
import json


def handler(event, context):
    if event.get("path") == "/text":
        return "not a 1.0 result"
    return {"statusCode": 200, "multiValueHeaders": {"x-seen": ["a", "b"]},
            "body": json.dumps(event)}
"""
NODE_ECHO = """
export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event) });
"""
NODE_STREAM = """
let release;
const released = new Promise((resolve) => { release = resolve; });
let waiting = false;

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.rawPath === '/release') {
    responseStream.end(JSON.stringify({ waiting }));
    release();
    return;
  }
  const out = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 202, headers: { 'content-type': 'text/plain' },
  });
  waiting = true;
  out.write('first ');
  if (event.rawPath === '/forever') return new Promise(() => {});
  await released;
  waiting = false;
  out.write('second ' + event.rawPath);
  out.end();
});
"""


def deploy_and_url(server: InvokeServer, **spec_args: object) -> str:
    spec = make_spec(**spec_args)  # type: ignore[arg-type]
    server.target.apply(spec, lambda _: None)
    return f"{server.url}/endpoint/{spec.key}"


def test_a_payload_1_0_function(serve: Serve) -> None:
    url = deploy_and_url(serve(), runtime="python", code=PY_ECHO, event_format="1.0")
    answer = httpx.post(f"{url}/orders?tag=a&tag=b", content=b"hi", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers.get_list("x-seen") == ["a", "b"]
    event = answer.json()
    assert (event["version"], event["httpMethod"], event["path"]) == ("1.0", "POST", "/orders")
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["queryStringParameters"] == {"tag": "b"}
    assert event["body"] == "hi" and event["requestContext"]["resourcePath"] == "/orders"
    failed = httpx.get(f"{url}/text", timeout=30)  # 1.0 infers no result from a string
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal Server Error"})


@pytest.mark.parametrize("runtime", ["node", "python"])
def test_a_routed_function_gets_path_parameters(serve: Serve, runtime: str) -> None:
    code = NODE_ECHO if runtime == "node" else PY_ECHO
    routes = ["GET /users/{user}/orders/{order}", "ANY /static/{proxy+}"]
    url = deploy_and_url(
        serve(), runtime=runtime, code=code, handler="handler.handler", routes=routes
    )
    event = httpx.get(f"{url}/users/u7/orders/o9", timeout=30).json()
    assert event["routeKey"] == "GET /users/{user}/orders/{order}"
    assert event["pathParameters"] == {"user": "u7", "order": "o9"}
    greedy = httpx.put(f"{url}/static/css/site.css", timeout=30).json()
    assert greedy["pathParameters"] == {"proxy": "css/site.css"}
    missing = httpx.get(f"{url}/users/u7", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})


def test_a_streamed_node_function_answers_chunk_by_chunk_through_the_control_plane(
    serve: Serve,
) -> None:
    """Order, not timing: the first chunk is read while the handler still waits for a second
    request to release it."""
    url = deploy_and_url(serve(), runtime="node", code=NODE_STREAM)
    with httpx.Client(timeout=30) as client, client.stream("GET", f"{url}/three") as streamed:
        assert streamed.status_code == 202
        assert streamed.headers["content-type"] == "text/plain"
        assert "content-length" not in streamed.headers
        chunks = streamed.iter_raw()
        assert next(chunks) == b"first "  # blocks (then times out) if the proxy buffered it
        assert httpx.get(f"{url}/release", timeout=30).json() == {"waiting": True}
        assert b"".join(chunks) == b"second /three"


def test_a_stream_past_its_timeout_is_cut_off(serve: Serve) -> None:
    url = deploy_and_url(serve(), runtime="node", code=NODE_STREAM, timeout_ms=1000)
    with httpx.Client(timeout=30) as client, client.stream("GET", f"{url}/forever") as streamed:
        chunks = streamed.iter_raw()
        assert next(chunks) == b"first "
        with pytest.raises(httpx.RemoteProtocolError):  # truncated, not a whole answer
            b"".join(chunks)
