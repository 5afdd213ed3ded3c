"""The Python wrapper as a real process: both conventions, errors and Lambda-style logs.

What it shares with the other wrappers is in test_wrapper_contract.py.
"""

from __future__ import annotations

import http.client

import pytest

from tests.fixtures.wrapper_harness import (
    Serve,
    ServeEcho,
    assert_invocation_logged,
    assert_load_failure,
    default_code,
)
from tests.integration.runtimes.logs import error_record


def test_health_is_ok_once_loaded(serve: Serve) -> None:
    worker = serve("python", {"handler.py": default_code("python")})
    reply = worker.get("/__lambdaclone/health")
    assert (reply.status, reply.json()) == (200, {"status": "ok", "convention": "original"})


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


def test_chunked_request_body(serve_echo: ServeEcho) -> None:
    worker = serve_echo("python")
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


def test_handler_exception_is_a_502_with_the_details_in_the_log(serve: Serve) -> None:
    code = """
        def handler(event, context):
            raise ValueError("bad input")
    """
    worker = serve("python", {"handler.py": code})
    reply = worker.get("/", headers={"x-request-id": "boom"})
    assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
    assert reply.header("x-amz-function-error") == "Unhandled"
    assert b"bad input" not in reply.body and reply.header("x-lambdaclone-error-type") is None
    record = error_record(worker, "boom")
    assert (record["errorType"], record["errorMessage"]) == ("ValueError", "bad input")
    assert record["level"] == "ERROR"
    assert any("handler.py" in frame and "in handler" in frame for frame in record["stackTrace"])
    assert not any("wrapper.py" in frame for frame in record["stackTrace"])
    assert_invocation_logged(worker, "boom")


def test_flask_exception_keeps_its_500(serve: Serve) -> None:
    code = "def handler():\n    raise KeyError('k')\n"
    reply = serve("python", {"handler.py": code}).get("/")
    assert (reply.status, reply.json()["errorType"]) == (500, "KeyError")


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
    worker = serve("python", {"handler.py": code})
    reply = worker.get("/", headers={"x-request-id": "bad-result"})
    assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
    assert error_record(worker, "bad-result")["errorType"] == "InvalidResponse"


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
    assert_load_failure(serve("python", files, handler=handler), message)


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
