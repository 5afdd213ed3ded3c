"""Kubeless functions run unchanged (`convention=kubeless`), in python and node: the examples of
Kubeless's documentation answer `event.data`; the event, the context, the request in
`extensions`, how results become bodies and how failures are answered."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.wrapper_harness import Serve, Worker

# Kubeless's examples (its docs and examples/ folder), as they were deployed there.
PY_HELLO_WITH_DATA = """
    def handler(event, context):
        print(event)
        return event['data']
"""
PY_HELLO_GET = """
    def foo(event, context):
        return "hello world"
"""
NODE_HELLO_WITH_DATA = """
    module.exports = {
      handler: (event, context) => {
        console.log(event);
        return event.data;
      },
    };
"""
NODE_HELLO_GET = """
    module.exports = {
      foo: function (event, context) {
        return 'hello world';
      }
    };
"""
# What `kubeless function call NAME --data …` sends besides the body.
CLI_HEADERS = {
    "event-id": "WyenX286FDwAOn0",
    "event-time": "2019-03-01T14:52:18Z",
    "event-namespace": "cli.kubeless.io",
}
JSON_HEADERS = {**CLI_HEADERS, "content-type": "application/json", "event-type": "application/json"}
FORM_TYPE = "application/x-www-form-urlencoded"

PY_EVENT_ECHO = """
    import json

    def handler(event, context):
        req = event['extensions']['request']
        data = event['data']
        return {
            'data': data.decode() if isinstance(data, bytes) else data,
            'event': {k: v for k, v in event.items() if k not in ('data', 'extensions')},
            'context': context,
            'request': {
                'method': req.method, 'path': req.path, 'query': dict(req.query),
                'all_a': req.query.getall('a'), 'missing': req.query.missing,
                'header': req.get_header('X-Test'), 'headers_x': req.headers.get('x-test'),
                'body': req.body.read().decode(), 'json': req.json,
                'env_method': req.environ['REQUEST_METHOD'],
            },
        }
"""
NODE_EVENT_ECHO = """
    module.exports.echo = (event, context) => {
      const req = event.extensions.request;
      const { data, extensions, ...fields } = event;
      return {
        data, event: fields, context,
        request: {
          method: req.method, path: req.path, query: req.query, header: req.get('X-Test'),
          body: Buffer.isBuffer(req.body) ? req.body.toString() : req.body,
          isJson: req.is('json'),
        },
        hasResponse: typeof extensions.response.status === 'function',
      };
    };
"""


def kubeless(serve: Serve, runtime: str, file: str, code: str, handler: str) -> Worker:
    return serve(runtime, {file: code}, handler=handler, convention="kubeless")


@pytest.mark.parametrize(
    ("runtime", "file", "code"),
    [("python", "hello.py", PY_HELLO_WITH_DATA), ("node", "hello.js", NODE_HELLO_WITH_DATA)],
)
def test_hello_with_data_answers_event_data(
    serve: Serve, runtime: str, file: str, code: str
) -> None:
    worker = kubeless(serve, runtime, file, code, "hello.handler")
    posted = worker.request("POST", "/", body='{"it-s": "alive"}', headers=JSON_HEADERS)
    assert posted.status == 200
    assert posted.json() == {"it-s": "alive"}
    assert (posted.header("content-type") or "").startswith("application/json")
    text = worker.request(
        "POST", "/", body="Hello world!", headers={**CLI_HEADERS, "content-type": FORM_TYPE}
    )
    assert (text.status, text.body) == (200, b"Hello world!")


@pytest.mark.parametrize(
    ("runtime", "file", "code"),
    [("python", "helloget.py", PY_HELLO_GET), ("node", "helloget.js", NODE_HELLO_GET)],
)
def test_hello_get_answers_its_string(serve: Serve, runtime: str, file: str, code: str) -> None:
    worker = kubeless(serve, runtime, file, code, "helloget.foo")
    reply = worker.get("/")
    assert (reply.status, reply.body) == (200, b"hello world")


def test_python_event_context_and_request(serve: Serve) -> None:
    worker = kubeless(serve, "python", "echo.py", PY_EVENT_ECHO, "echo.handler")
    reply = worker.request(
        "POST", "/some/path?a=1&a=2&b=x", body='{"k": [1, 2]}',
        headers={**JSON_HEADERS, "X-Test": "yes"},
    )  # fmt: skip
    assert reply.status == 200, reply.body
    got = reply.json()
    assert got["data"] == {"k": [1, 2]}
    assert got["event"] == {
        "event-id": "WyenX286FDwAOn0",
        "event-type": "application/json",
        "event-time": "2019-03-01T14:52:18Z",
        "event-namespace": "cli.kubeless.io",
    }
    assert got["context"]["function-name"]
    assert got["context"]["runtime"].startswith("python3.")
    assert isinstance(got["context"]["timeout"], float)
    assert got["context"]["memory-limit"].endswith("Mi")
    assert got["request"] == {
        "method": "POST",
        "path": "/some/path",
        "query": {"a": "2", "b": "x"},
        "all_a": ["1", "2"],
        "missing": "",
        "header": "yes",
        "headers_x": "yes",
        "body": '{"k": [1, 2]}',
        "json": {"k": [1, 2]},
        "env_method": "POST",
    }


def test_node_event_context_and_request(serve: Serve) -> None:
    worker = kubeless(serve, "node", "echo.js", NODE_EVENT_ECHO, "echo.echo")
    reply = worker.request(
        "POST", "/p?a=1", body='{"k": 1}',
        headers={**JSON_HEADERS, "X-Test": "yes"},
    )  # fmt: skip
    assert reply.status == 200, reply.body
    got = reply.json()
    assert got["data"] == {"k": 1}
    assert got["event"] == {
        "event-id": "WyenX286FDwAOn0",
        "event-type": "application/json",
        "event-time": "2019-03-01T14:52:18Z",
        "event-namespace": "cli.kubeless.io",
    }
    assert got["context"]["runtime"].startswith("nodejs")
    assert got["context"]["memory-limit"].endswith("Mi")
    assert got["request"] == {
        "method": "POST",
        "path": "/p",
        "query": {"a": "1"},
        "header": "yes",
        "body": '{"k": 1}',
        "isJson": "json",
    }
    assert got["hasResponse"] is True


@pytest.mark.parametrize(
    ("runtime", "file", "code", "handler"),
    [
        ("python", "echo.py", PY_EVENT_ECHO, "echo.handler"),
        ("node", "echo.js", NODE_EVENT_ECHO, "echo.echo"),
    ],
)
def test_absent_event_headers_are_filled_in(
    serve: Serve, runtime: str, file: str, code: str, handler: str
) -> None:
    """A plain HTTP request (no Kubeless trigger in front) still gets string event-* values."""
    worker = kubeless(serve, runtime, file, code, handler)
    reply = worker.request(
        "POST", "/", body="plain", headers={"content-type": "text/plain", "x-request-id": "r-1"}
    )
    event = reply.json()["event"]
    assert event["event-id"] == "r-1"
    assert event["event-type"] == "text/plain"
    assert event["event-namespace"] == "lambdaclone"
    assert event["event-time"].endswith("Z") and "T" in event["event-time"]
    assert reply.json()["data"] == "plain"


def test_node_data_is_an_empty_object_without_a_body(serve: Serve) -> None:
    """Kubeless's body-parser leaves `{}` when nothing was sent; `return event.data` is `{}`."""
    worker = kubeless(serve, "node", "hello.js", NODE_HELLO_WITH_DATA, "hello.handler")
    reply = worker.get("/")
    assert (reply.status, reply.json()) == (200, {})


def test_python_data_is_bytes_when_not_json(serve: Serve) -> None:
    code = """
        def handler(event, context):
            return type(event['data']).__name__ + ':' + event['data'].decode()
    """
    worker = kubeless(serve, "python", "t.py", code, "t.handler")
    reply = worker.request("POST", "/", body="abc", headers={"content-type": FORM_TYPE})
    assert (reply.body, reply.header("content-type")) == (b"bytes:abc", "text/html; charset=UTF-8")


def test_node_function_export_async_and_response(serve: Serve) -> None:
    """module.exports as the function itself, async results, and answering through
    `extensions.response`, as Kubeless's node runtime allows."""
    whole = "module.exports = async function (event, context) { return {n: event.data.n + 1}; };\n"
    worker = kubeless(serve, "node", "whole.js", whole, "whole.anything")
    reply = worker.request(
        "POST", "/", body='{"n": 1}', headers={"content-type": "application/json"}
    )
    assert reply.json() == {"n": 2}

    promise = """
        module.exports = {
          later: (event) => new Promise((resolve) => setTimeout(() => resolve('done'), 5)),
          direct: (event) => { event.extensions.response.status(201).send('made'); },
          number: () => 42,
        };
    """
    for handler, status, body in (("later", 200, b"done"), ("direct", 201, b"made")):
        started = kubeless(serve, "node", "p.js", promise, f"p.{handler}")
        reply = started.get("/")
        assert (reply.status, reply.body) == (status, body)
    assert kubeless(serve, "node", "p.js", promise, "p.number").get("/").body == b"42"


PY_RAISES = "def handler(event, context):\n    raise ValueError('boom')\n"
NODE_THROWS = "exports.handler = () => { throw new TypeError('boom'); };\n"
NODE_REJECTS = "exports.handler = async () => { throw new Error('boom'); };\n"


@pytest.mark.parametrize(
    ("runtime", "file", "code", "error_type"),
    [
        ("python", "f.py", PY_RAISES, "ValueError"),
        ("node", "f.js", NODE_THROWS, "TypeError"),
        ("node", "f.js", NODE_REJECTS, "Error"),
    ],
)
def test_failures_are_500(
    serve: Serve, runtime: str, file: str, code: str, error_type: str
) -> None:
    reply = kubeless(serve, runtime, file, code, "f.handler").get("/")
    assert reply.status == 500
    assert reply.json()["errorType"] == error_type
    assert reply.header("x-lambdaclone-error-type") == error_type


@pytest.mark.parametrize(
    ("runtime", "file", "code"),
    [("python", "hello.py", PY_HELLO_WITH_DATA), ("node", "hello.js", NODE_HELLO_WITH_DATA)],
)
def test_malformed_json_is_400(serve: Serve, runtime: str, file: str, code: str) -> None:
    worker = kubeless(serve, runtime, file, code, "hello.handler")
    reply = worker.request("POST", "/", body="{nope", headers={"content-type": "application/json"})
    assert reply.status == 400
    assert reply.json()["errorType"] == "InvalidRequestContent"


def test_python_results_follow_bottle(serve: Serve) -> None:
    code = """
        def as_list(event, context):
            return ['a', 'b']

        def nothing(event, context):
            return None

        def number(event, context):
            return 42
    """
    replies = {
        name: kubeless(serve, "python", "r.py", code, f"r.{name}").get("/")
        for name in ("as_list", "nothing", "number")
    }
    assert (replies["as_list"].status, replies["as_list"].body) == (200, b"ab")
    assert (replies["nothing"].status, replies["nothing"].body) == (200, b"")
    assert replies["number"].status == 500
    assert json.loads(replies["number"].body)["errorType"] == "InvalidResponse"
