"""What the wrappers do alike, as real processes: the catalog's default code (every runtime),
and the Lambda event and result of the Lambda convention (Python and node)."""

from __future__ import annotations

import base64

import pytest

from tests.fixtures.wrapper_harness import Serve, ServeEcho, assert_invocation_logged, default_code

# runtime: (code file, query, the params the default code answers with as JSON)
DEFAULT_CODE = {
    "python": ("handler.py", "?name=ada&lang=py", {"name": "ada", "lang": "py"}),
    "node": ("handler.mjs", "?name=ada&tag=a&tag=b", {"name": "ada", "tag": ["a", "b"]}),
    "golang": ("handler.go", "?name=ada&tag=a&tag=b", {"name": ["ada"], "tag": ["a", "b"]}),
}
LAMBDA_RUNTIMES = ["node", "python"]


@pytest.mark.parametrize("runtime", sorted(DEFAULT_CODE))
def test_default_code_echoes_query_and_logs_like_lambda(serve: Serve, runtime: str) -> None:
    filename, query, params = DEFAULT_CODE[runtime]
    worker = serve(runtime, {filename: default_code(runtime)})
    request_id = f"req-{runtime}"
    reply = worker.get(f"/{query}", headers={"x-request-id": request_id})
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    assert reply.header("x-request-id") == request_id
    body = reply.json()
    assert "message" in body
    assert body["params"] == params
    assert_invocation_logged(worker, request_id)
    assert worker.get("/__lambdaclone/health").json() == {"status": "ok", "convention": "original"}


@pytest.mark.parametrize("runtime", LAMBDA_RUNTIMES)
def test_lambda_event_shape(serve_echo: ServeEcho, runtime: str) -> None:
    reply = serve_echo(runtime).request(
        "PUT",
        "/p/q?b=2&a=1&a=3",
        body="hello",
        headers={
            "content-type": "text/plain",
            "x-request-id": "rid-1",
            "Cookie": "c1=v1; c2=v2",
            "X-Multi": "one",
            "user-agent": "tester/1",
        },
    )
    event = reply.json()
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/p/q" and event["rawQueryString"] == "b=2&a=1&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one"
    assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
    context = event["requestContext"]
    assert context["accountId"] == "000000000000" and context["stage"] == "$default"
    assert context["requestId"] == "rid-1"
    assert context["http"] == {
        "method": "PUT",
        "path": "/p/q",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tester/1",
    }
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith("+0000")


FORWARDED = [
    ({}, "127.0.0.1"),  # no header: the TCP peer
    ({"X-Forwarded-For": "10.1.2.3"}, "10.1.2.3"),
    ({"X-Forwarded-For": "6.6.6.6, 7.7.7.7 ,10.1.2.3"}, "10.1.2.3"),  # caller's claims first
]
# The runtime's own convention answering with the caller's address as text.
REMOTE_ADDR = {
    "python": (
        "handler.py",
        """
        from flask import request

        def handler():
            return request.remote_addr
        """,
    ),
    "node": ("handler.mjs", "export default (req, res) => res.send(req.ip);\n"),
}


@pytest.mark.parametrize("runtime", LAMBDA_RUNTIMES)
@pytest.mark.parametrize(("headers", "source_ip"), FORWARDED)
def test_source_ip_is_the_last_forwarded_hop(
    serve: Serve, serve_echo: ServeEcho, runtime: str, headers: dict[str, str], source_ip: str
) -> None:
    event = serve_echo(runtime).get("/", headers=headers).json()
    # node may report an IPv4 peer in its IPv6-mapped form
    assert event["requestContext"]["http"]["sourceIp"].removeprefix("::ffff:") == source_ip
    filename, code = REMOTE_ADDR[runtime]
    native = serve(runtime, {filename: code})
    assert native.get("/", headers=headers).body.decode().removeprefix("::ffff:") == source_ip


@pytest.mark.parametrize("runtime", LAMBDA_RUNTIMES)
def test_binary_request_body_is_base64(serve_echo: ServeEcho, runtime: str) -> None:
    payload = bytes(range(256))
    event = (
        serve_echo(runtime)
        .request("POST", "/", body=payload, headers={"content-type": "application/octet-stream"})
        .json()
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


PNG = b"\x89PNG\x00\xff"
# A Lambda result with headers, cookies and a base64 body (the bytes of PNG).
LAMBDA_RESULT = {
    "python": (
        "handler.py",
        """
        import base64

        def handler(event, context):
            return {
                "statusCode": 202,
                "headers": {"content-type": "image/png", "x-n": 5},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": base64.b64encode(b"\\x89PNG\\x00\\xff").decode(),
                "isBase64Encoded": True,
            }
        """,
    ),
    "node": (
        "handler.mjs",
        "export const handler = async () => ({ statusCode: 202,"
        " headers: { 'content-type': 'image/png', 'x-n': 5 },"
        " cookies: ['a=1; Path=/', 'b=2'],"
        f" body: '{base64.b64encode(PNG).decode()}', isBase64Encoded: true }});",
    ),
}


@pytest.mark.parametrize("runtime", LAMBDA_RUNTIMES)
def test_lambda_result_headers_cookies_and_base64_body(serve: Serve, runtime: str) -> None:
    filename, code = LAMBDA_RESULT[runtime]
    reply = serve(runtime, {filename: code}).get("/")
    assert reply.status == 202
    assert reply.header("content-type") == "image/png"
    assert reply.header("x-n") == "5"
    assert reply.headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    assert reply.body == PNG
