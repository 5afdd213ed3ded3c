"""The Python wrapper as a real process: both conventions, errors and Lambda-style logs."""

from __future__ import annotations

import base64
import http.client

import pytest

from runtimes.harness import Serve, assert_invocation_logged, default_code

ECHO_EVENT = """
    def handler(event, context):
        return {"statusCode": 200, "body": __import__("json").dumps(event)}
"""


def test_default_code_echoes_query_and_logs_like_lambda(serve: Serve) -> None:
    worker = serve("python", {"handler.py": default_code("python")})
    reply = worker.get("/?name=ada&lang=py", headers={"x-request-id": "req-123"})
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    assert reply.header("x-request-id") == "req-123"
    body = reply.json()
    assert "message" in body
    assert body["params"] == {"name": "ada", "lang": "py"}
    assert_invocation_logged(worker, "req-123")


def test_health_is_ok_once_loaded(serve: Serve) -> None:
    worker = serve("python", {"handler.py": default_code("python")})
    reply = worker.get("/__lambdaclone/health")
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def test_health_request_body_does_not_break_keep_alive(serve: Serve) -> None:
    worker = serve("python", {"handler.py": "def handler(event, context):\n    return 1\n"})
    assert worker.request("POST", "/__lambdaclone/health", body="x" * 100).status == 200
    assert worker.get("/").json() == 1


def test_request_id_is_generated_when_absent(serve: Serve) -> None:
    worker = serve("python", {"handler.py": default_code("python")})
    request_id = worker.get("/").header("x-request-id")
    assert request_id is not None and len(request_id) == 36
    assert_invocation_logged(worker, request_id)


def test_flask_handler_reads_json_and_sets_status_and_headers(serve: Serve) -> None:
    code = """
        from flask import jsonify, request

        def handler():
            data = request.get_json()
            reply = jsonify(got=data, method=request.method, path=request.path)
            reply.headers["X-Custom"] = "yes"
            return reply, 201
    """
    worker = serve("python", {"handler.py": code})
    reply = worker.request(
        "POST", "/items/1", body='{"a": 1}', headers={"content-type": "application/json"}
    )
    assert reply.status == 201
    assert reply.header("x-custom") == "yes"
    assert reply.json() == {"got": {"a": 1}, "method": "POST", "path": "/items/1"}


def test_flask_abort_is_an_http_response(serve: Serve) -> None:
    code = """
        from flask import abort

        def handler():
            abort(404)
    """
    assert serve("python", {"handler.py": code}).get("/").status == 404


def test_path_prefix_is_stripped(serve: Serve) -> None:
    code = """
        from flask import request

        def handler():
            return {
                "path": request.path,
                "root": request.script_root,
                "args": request.args.to_dict(flat=False),
            }
    """
    worker = serve("python", {"handler.py": code}, prefix="/endpoint/k3y")
    assert worker.get("/endpoint/k3y/a/b?x=1&x=2").json() == {
        "path": "/a/b",
        "root": "/endpoint/k3y",
        "args": {"x": ["1", "2"]},
    }
    assert worker.get("/endpoint/k3y").json()["path"] == "/"
    assert worker.get("/other").json()["path"] == "/other"  # locally the prefix is already gone
    assert worker.get("/endpoint/k3y/__lambdaclone/health").status == 200


def test_lambda_event_shape(serve: Serve) -> None:
    worker = serve("python", {"app.py": ECHO_EVENT}, handler="app.handler")
    reply = worker.request(
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


@pytest.mark.parametrize(("headers", "source_ip"), FORWARDED)
def test_source_ip_is_the_last_forwarded_hop(
    serve: Serve, headers: dict[str, str], source_ip: str
) -> None:
    worker = serve("python", {"app.py": ECHO_EVENT}, handler="app.handler")
    event = worker.get("/", headers=headers).json()
    assert event["requestContext"]["http"]["sourceIp"] == source_ip
    flask = serve("python", {"handler.py": FLASK_REMOTE_ADDR})
    assert flask.get("/", headers=headers).body.decode() == source_ip


FLASK_REMOTE_ADDR = """
    from flask import request

    def handler():
        return request.remote_addr
"""


def test_binary_request_body_is_base64(serve: Serve) -> None:
    worker = serve("python", {"app.py": ECHO_EVENT}, handler="app.handler")
    payload = bytes(range(256))
    event = worker.request(
        "POST", "/", body=payload, headers={"content-type": "application/octet-stream"}
    ).json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_lambda_result_headers_cookies_and_base64_body(serve: Serve) -> None:
    code = """
        import base64

        def handler(event, context):
            return {
                "statusCode": 202,
                "headers": {"content-type": "image/png", "x-n": 5},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": base64.b64encode(b"\\x89PNG\\x00\\xff").decode(),
                "isBase64Encoded": True,
            }
    """
    reply = serve("python", {"handler.py": code}).get("/")
    assert reply.status == 202
    assert reply.header("content-type") == "image/png"
    assert reply.header("x-n") == "5"
    assert reply.headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    assert reply.body == b"\x89PNG\x00\xff"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('{"ok": True}', {"ok": True}),
        ("[1, 2]", [1, 2]),
        ('"text"', "text"),
        ("42", 42),
        ("None", None),
    ],
)
def test_plain_values_become_json(serve: Serve, expression: str, expected: object) -> None:
    code = f"def handler(event, context):\n    return {expression}\n"
    reply = serve("python", {"handler.py": code}).get("/")
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    assert reply.json() == expected


def test_async_handler_and_context(serve: Serve) -> None:
    code = """
        import asyncio

        async def handler(event, context):
            await asyncio.sleep(0)
            return {
                "id": context.aws_request_id,
                "name": context.function_name,
                "version": context.function_version,
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
                "group": context.log_group_name,
                "remaining": context.get_remaining_time_in_millis(),
            }
    """
    body = serve("python", {"handler.py": code}).get("/", {"x-request-id": "r9"}).json()
    assert body["id"] == "r9" and body["name"] == "test-fn" and body["version"] == "7"
    assert body["memory"] == "256"
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert body["group"] == "/aws/lambda/test-fn"
    assert 0 < body["remaining"] <= 5000


def test_chunked_request_body(serve: Serve) -> None:
    worker = serve("python", {"app.py": ECHO_EVENT}, handler="app.handler")
    conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=5)
    conn.request(
        "POST",
        "/",
        body=iter([b"ab", b"cd"]),
        headers={"content-type": "text/plain"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert __import__("json").loads(response.read())["body"] == "abcd"
    conn.close()


def test_handler_exception_is_a_500_with_stack(serve: Serve) -> None:
    code = """
        def handler(event, context):
            raise ValueError("bad input")
    """
    worker = serve("python", {"handler.py": code})
    reply = worker.get("/", headers={"x-request-id": "boom"})
    assert reply.status == 500
    body = reply.json()
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "bad input")
    assert any("handler.py" in frame and "in handler" in frame for frame in body["stackTrace"])
    assert not any("wrapper.py" in frame for frame in body["stackTrace"])
    assert "[ERROR] RequestId: boom ValueError: bad input" in worker.wait_output("boom", "stderr")
    assert_invocation_logged(worker, "boom")


@pytest.mark.parametrize(
    "result",
    [
        "object()",
        '{"statusCode": "abc"}',
        '{"statusCode": 200, "body": {"a": 1}}',
        '{"statusCode": 200, "headers": {"x": [1]}}',
        '{"statusCode": 200, "body": "%%%", "isBase64Encoded": True}',
    ],
)
def test_invalid_lambda_results(serve: Serve, result: str) -> None:
    code = f"def handler(event, context):\n    return {result}\n"
    reply = serve("python", {"handler.py": code}).get("/")
    assert reply.status == 500
    assert reply.json()["errorType"] == "InvalidResponse"
    assert reply.header("x-lambdaclone-error-type") == "InvalidResponse"


def test_invalid_flask_return(serve: Serve) -> None:
    code = "def handler():\n    return None\n"
    reply = serve("python", {"handler.py": code}).get("/")
    assert (reply.status, reply.json()["errorType"]) == (500, "InvalidResponse")


@pytest.mark.parametrize(
    ("files", "handler", "message"),
    [
        ({}, "handler.handler", "cannot find module 'handler'"),
        ({"handler.py": "x = 1\n"}, "handler.handler", "missing from module"),
        ({"handler.py": "def handler(:\n"}, "handler.handler", "syntax error"),
        ({"handler.py": "import nope_not_here\n"}, "handler.handler", "nope_not_here"),
        ({"handler.py": "raise RuntimeError('init')\n"}, "handler.handler", "RuntimeError: init"),
        ({"handler.py": "handler = 3\n"}, "handler.handler", "is not a function"),
        ({"handler.py": "def handler(): pass\n"}, "nodot", "file.function"),
        ({"json.py": "def handler(): pass\n"}, "json.handler", "not in the code directory"),
    ],
)
def test_load_failures_are_reported(
    serve: Serve, files: dict[str, str], handler: str, message: str
) -> None:
    worker = serve("python", files, handler=handler)
    health = worker.get("/__lambdaclone/health")
    assert health.status == 500
    assert health.json()["errorType"] == "HandlerLoadError"
    assert message in health.json()["errorMessage"]
    invoked = worker.get("/anything")
    assert (invoked.status, invoked.json()) == (500, health.json())
    assert "HandlerLoadError" in worker.stderr()


def test_handler_in_a_package_can_import_siblings(serve: Serve) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/helpers.py": "GREETING = 'hi'\n",
        "pkg/app.py": "from pkg.helpers import GREETING\n\ndef main(event, context):\n"
        "    return GREETING\n",
    }
    assert serve("python", files, handler="pkg/app.main").get("/").json() == "hi"


def test_convention_override(serve: Serve) -> None:
    code = "def handler(*args):\n    return {'args': len(args)}\n"
    assert serve("python", {"handler.py": code}).get("/").json() == {"args": 0}
    forced = serve("python", {"handler.py": code}, convention="lambda")
    assert forced.get("/").json() == {"args": 2}
