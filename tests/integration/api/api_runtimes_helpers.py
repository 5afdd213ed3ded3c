"""Functions for test_api_runtimes.py: one per runtime and convention, each with the request it is
invoked with and what its caller must see.

Every case is invoked at `/endpoint/{key}/some/path?x=1&multi=a&multi=b` from the peer `PEER`,
with a custom header, a request id and a spoofed `X-Forwarded-For`; the echoing handlers report
what reached them, so the assertions cover method, path suffix, query, headers, body, source ip
and the Lambda context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PEER = ("192.0.2.10", 50123)
"""The client address the app sees (TEST-NET-1): not loopback, so nothing trusts it."""
SPOOFED = "6.6.6.6"
SUFFIX = "/some/path"
QUERY = "x=1&multi=a&multi=b"
BODY = {"hello": "world"}
BODY_TEXT = '{"hello": "world"}'  # sent byte for byte, so the functions see exactly this
BINARY_PREFIX = b"\x00\xffbin:"


@dataclass(frozen=True)
class Sent:
    """What the test sent, for the expectations."""

    method: str
    request_id: str
    function_name: str

    @property
    def body_text(self) -> str | None:
        return BODY_TEXT if has_body(self.method) else None


@dataclass(frozen=True)
class Expected:
    """What the caller must get: status, content type (a prefix), headers and the body — a JSON
    value, or `bytes` for a raw body."""

    status: int
    content_type: str
    body: object
    headers: tuple[tuple[str, str], ...] = ()


Expect = Callable[[Sent], Expected]


@dataclass(frozen=True)
class Case:
    id: str
    runtime: str
    code: str | None  # None: the catalog's default code, read through GET /lambda/runtimes
    method: str
    expect: Expect


def has_body(method: str) -> bool:
    return method not in {"GET", "HEAD"}


JSON = "application/json"
ECHOED = (("x-echo", "yes"),)


# --- expectations ------------------------------------------------------------------------------
def default_answer(language: str, params: dict[str, Any]) -> Expect:
    """The catalog's default code: a greeting and the query parameters."""
    message = f"Hello from lambdaclone ({language})!"
    return lambda sent: Expected(200, JSON, {"message": message, "params": params})


def lambda_echo(sent: Sent) -> Expected:
    """A Lambda-style handler answering `{statusCode, headers, body}` with what it received."""
    event = {
        "method": sent.method,
        "path": SUFFIX,
        "query": QUERY,
        "params": {"x": "1", "multi": "a,b"},
        "body": sent.body_text,
        "isBase64Encoded": False,
        "sourceIp": PEER[0],
        "forwardedFor": PEER[0],
        "requestId": sent.request_id,
        "functionName": sent.function_name,
    }
    return Expected(200, JSON, event, ECHOED)


def express_echo(sent: Sent) -> Expected:
    request = {
        "method": sent.method,
        "path": SUFFIX,
        "query": {"x": "1", "multi": ["a", "b"]},
        "body": BODY,
        "ip": PEER[0],
        "forwardedFor": PEER[0],
    }
    return Expected(201, JSON, request, ECHOED)


def flask_echo(sent: Sent) -> Expected:
    request = {
        "method": sent.method,
        "path": SUFFIX,
        "query": {"x": ["1"], "multi": ["a", "b"]},
        "body": BODY,
        "ip": PEER[0],
        "forwardedFor": PEER[0],
    }
    return Expected(201, JSON, request, ECHOED)


def plain_value(value: object) -> Expect:
    """Any result without `statusCode`: 200, JSON-encoded, as Function URLs answer."""
    return lambda sent: Expected(200, JSON, value)


def binary_result(sent: Sent) -> Expected:
    """`{statusCode, headers, body, isBase64Encoded: true}`: the decoded bytes, as given."""
    data = BINARY_PREFIX + (sent.body_text or "").encode()
    return Expected(207, "application/octet-stream", data, ECHOED)


# --- code ----------------------------------------------------------------------------------------
JS_ECHO = """
const echo = (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'x-echo': event.headers['x-custom'] },
  body: JSON.stringify({
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: event.rawQueryString,
    params: event.queryStringParameters,
    body: event.body ?? null,
    isBase64Encoded: event.isBase64Encoded,
    sourceIp: event.requestContext.http.sourceIp,
    forwardedFor: event.headers['x-forwarded-for'],
    requestId: context.awsRequestId,
    functionName: context.functionName,
  }),
});
"""

JS_EXPRESS = """(req, res) => {
  res.status(201).set('x-echo', req.get('x-custom')).json({
    method: req.method, path: req.path, query: req.query, body: req.body, ip: req.ip,
    forwardedFor: req.get('x-forwarded-for'),
  });
}"""

PY_ECHO = """
import json


def echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-echo": event["headers"]["x-custom"]},
        "body": json.dumps({
            "method": event["requestContext"]["http"]["method"],
            "path": event["rawPath"],
            "query": event["rawQueryString"],
            "params": event.get("queryStringParameters"),
            "body": event.get("body"),
            "isBase64Encoded": event["isBase64Encoded"],
            "sourceIp": event["requestContext"]["http"]["sourceIp"],
            "forwardedFor": event["headers"].get("x-forwarded-for"),
            "requestId": context.aws_request_id,
            "functionName": context.function_name,
        }),
    }
"""

PY_FLASK = """
from flask import jsonify, request


def handler():
    answer = jsonify(
        method=request.method,
        path=request.path,
        query=request.args.to_dict(flat=False),
        body=request.get_json(),
        ip=request.remote_addr,
        forwardedFor=request.headers.get("x-forwarded-for"),
    )
    return answer, 201, {"x-echo": request.headers["x-custom"]}
"""

PY_BINARY = """
import base64


def handler(event, context):
    data = b"\\x00\\xffbin:" + (event.get("body") or "").encode()
    return {
        "statusCode": 207,
        "headers": {"content-type": "application/octet-stream", "x-echo": "yes"},
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }
"""

JS_BINARY = """
export const handler = async (event) => ({
  statusCode: 207,
  headers: { 'content-type': 'application/octet-stream', 'x-echo': 'yes' },
  body: Buffer.concat([Buffer.from([0, 255]), Buffer.from('bin:' + (event.body ?? ''))])
    .toString('base64'),
  isBase64Encoded: true,
});
"""

CASES = [
    Case(
        "golang-default",
        "golang",
        None,
        "GET",
        default_answer("go", {"x": ["1"], "multi": ["a", "b"]}),
    ),
    Case(
        "node-default-express",
        "node",
        None,
        "GET",
        default_answer("node", {"x": "1", "multi": ["a", "b"]}),
    ),
    Case(
        "node-express-esm",
        "node",
        f"export default function handler(req, res) {{\n  ({JS_EXPRESS})(req, res);\n}}\n",
        "POST",
        express_echo,
    ),
    Case(
        "node-lambda-async-esm",
        "node",
        JS_ECHO + "export const handler = async (event, context) => echo(event, context);\n",
        "PUT",
        lambda_echo,
    ),
    Case(
        "node-lambda-promise",
        "node",
        JS_ECHO
        + "export function handler(event, context) {\n"
        + "  return new Promise((resolve) => setTimeout(() => resolve(echo(event, context)), 5));\n"
        + "}\n",
        "PATCH",
        lambda_echo,
    ),
    Case(
        "node-lambda-callback-cjs",
        "node",
        JS_ECHO
        + "exports.handler = function (event, context, callback) {\n"
        + "  setImmediate(() => callback(null, echo(event, context)));\n"
        + "};\n",
        "DELETE",
        lambda_echo,
    ),
    Case(
        "node-module-exports-express-cjs",
        "node",
        f"module.exports = {JS_EXPRESS};\n",
        "POST",
        express_echo,
    ),
    Case(
        "node-module-exports-lambda-cjs",
        "node",
        JS_ECHO + "module.exports = { handler: async (event, context) => echo(event, context) };\n",
        "POST",
        lambda_echo,
    ),
    Case(
        "python-default-flask",
        "python",
        None,
        "GET",
        default_answer("python", {"x": "1", "multi": "a"}),
    ),
    Case("python-flask-original", "python", PY_FLASK, "POST", flask_echo),
    Case(
        "python-lambda-sync",
        "python",
        PY_ECHO + "\n\ndef handler(event, context):\n    return echo(event, context)\n",
        "PUT",
        lambda_echo,
    ),
    Case(
        "python-lambda-async",
        "python",
        "import asyncio\n"
        + PY_ECHO
        + "\n\nasync def handler(event, context):\n"
        + "    await asyncio.sleep(0.001)\n"
        + "    return echo(event, context)\n",
        "PATCH",
        lambda_echo,
    ),
    Case(
        "python-plain-value",
        "python",
        "def handler(event, context):\n"
        + '    return ["plain", event["rawQueryString"], event.get("body"), None, 1.5]\n',
        "POST",
        plain_value(["plain", QUERY, BODY_TEXT, None, 1.5]),
    ),
    Case(
        "node-plain-value",
        "node",
        "export const handler = async (event) => `plain ${event.rawQueryString}`;\n",
        "POST",
        plain_value(f"plain {QUERY}"),
    ),
    Case("python-status-code-base64", "python", PY_BINARY, "POST", binary_result),
    Case("node-status-code-base64", "node", JS_BINARY, "PUT", binary_result),
]
