"""The node wrapper as a real process: Express-style and Lambda-style handlers, CJS and ESM.

What it shares with the other wrappers is in test_wrapper_contract.py.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.wrapper_harness import Serve, assert_invocation_logged, assert_load_failure
from tests.integration.runtimes.logs import error_record


def test_express_request_and_response(serve: Serve) -> None:
    code = """
        export default async function handler(req, res) {
          res.status(201).set('X-Custom', 'yes').json({
            body: req.body, method: req.method, path: req.path, ua: req.get('user-agent'),
          });
        }
    """
    worker = serve("node", {"handler.mjs": code})
    reply = worker.request(
        "POST",
        "/items/1?x=1",
        body='{"a": 1}',
        headers={"content-type": "application/json", "user-agent": "t/1"},
    )
    assert reply.status == 201
    assert reply.header("x-custom") == "yes"
    assert reply.json() == {"body": {"a": 1}, "method": "POST", "path": "/items/1", "ua": "t/1"}


def test_express_send_later_send_text_and_returned_value(serve: Serve) -> None:
    code = """
        export default function handler(req, res) {
          if (req.path === '/later') setTimeout(() => res.send('<b>late</b>'), 20);
          else if (req.path === '/status') res.sendStatus(204);
          else if (req.path === '/body') res.json(req.body);
          else return Promise.resolve({ returned: true });
        }
    """
    worker = serve("node", {"handler.mjs": code})
    later = worker.get("/later")
    assert (later.status, later.body) == (200, b"<b>late</b>")
    assert (later.header("content-type") or "").startswith("text/html")
    assert worker.get("/status").status == 204
    assert worker.get("/value").json() == {"returned": True}
    assert worker.get("/body").json() == {}
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert worker.request("POST", "/body", body="a=1&a=2&b=3", headers=form).json() == {
        "a": ["1", "2"],
        "b": "3",
    }


def test_express_invalid_json_body_is_400(serve: Serve) -> None:
    code = "export default (req, res) => res.json(req.body);\n"
    worker = serve("node", {"handler.mjs": code})
    reply = worker.request("POST", "/", body="{nope", headers={"content-type": "application/json"})
    assert (reply.status, reply.json()["errorType"]) == (400, "InvalidRequestContent")


def test_path_prefix_is_stripped(serve: Serve) -> None:
    code = "export default (req, res) => res.json({ path: req.path, query: req.query });\n"
    worker = serve("node", {"handler.mjs": code}, prefix="/endpoint/k3y")
    assert worker.get("/endpoint/k3y/a/b?x=1").json() == {"path": "/a/b", "query": {"x": "1"}}
    assert worker.get("/endpoint/k3y").json()["path"] == "/"
    assert worker.get("/other").json()["path"] == "/other"
    assert worker.get("/endpoint/k3y/__lambdaclone/health").status == 200


LAMBDA_STYLES = {
    "esm-async": ("index.mjs", "export const handler = async (event) => ({ ok: event.rawPath });"),
    "esm-function": (
        "index.mjs",
        "export async function handler(event) { return { ok: event.rawPath }; }",
    ),
    "cjs-exports": ("index.cjs", "exports.handler = async (event) => ({ ok: event.rawPath });"),
    "cjs-module-exports": (
        "index.js",
        "function handler(event, context) { return Promise.resolve({ ok: event.rawPath }); }\n"
        "module.exports = { handler };",
    ),
    "callback": (
        "index.js",
        "exports.handler = (event, context, callback) => {\n"
        "  setTimeout(() => callback(null, { ok: event.rawPath }), 10);\n};",
    ),
    "context-succeed": (
        "index.cjs",
        "exports.handler = function (event, context, cb) {\n"
        "  context.succeed({ ok: event.rawPath });\n};",
    ),
}


@pytest.mark.parametrize("style", sorted(LAMBDA_STYLES))
def test_lambda_handler_styles(serve: Serve, style: str) -> None:
    filename, code = LAMBDA_STYLES[style]
    worker = serve("node", {filename: code}, handler="index.handler")
    reply = worker.get("/p")
    assert (reply.status, reply.json()) == (200, {"ok": "/p"})
    assert reply.header("content-type") == "application/json"


def test_mjs_is_preferred_over_cjs_and_js(serve: Serve) -> None:
    files = {
        "index.js": "exports.handler = async () => 'js';",
        "index.cjs": "exports.handler = async () => 'cjs';",
        "index.mjs": "export const handler = async () => 'mjs';",
    }
    assert serve("node", files, handler="index.handler").get("/").json() == "mjs"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("{ ok: true }", {"ok": True}), ("[1, 2]", [1, 2]), ("'text'", "text"), ("42", 42)],
)
def test_plain_values_become_json(serve: Serve, expression: str, expected: object) -> None:
    code = f"exports.handler = async () => ({expression});"
    reply = serve("node", {"handler.cjs": code}).get("/")
    assert (reply.status, reply.json()) == (200, expected)


def test_context(serve: Serve) -> None:
    code = """
        export const handler = async (event, context) => ({
          id: context.awsRequestId, name: context.functionName, version: context.functionVersion,
          memory: context.memoryLimitInMB, arn: context.invokedFunctionArn,
          remaining: context.getRemainingTimeInMillis(),
        });
    """
    body = serve("node", {"handler.mjs": code}).get("/", {"x-request-id": "r9"}).json()
    assert (body["id"], body["name"], body["version"], body["memory"]) == (
        "r9",
        "test-fn",
        "7",
        "256",
    )
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert 0 < body["remaining"] <= 5000


@pytest.mark.parametrize(
    ("code", "error_type", "message"),
    [
        (
            "export const handler = async () => { throw new TypeError('bad input'); };",
            "TypeError",
            "bad input",
        ),
        ("exports.handler = (e, c, cb) => cb(new Error('via callback'));", "Error", "via callback"),
        ("exports.handler = () => { throw new RangeError('sync'); };", "RangeError", "sync"),
        ("exports.handler = (e, c, cb) => cb('plain string');", "string", "plain string"),
    ],
)
def test_lambda_errors_are_502s_with_the_details_in_the_log(
    serve: Serve, code: str, error_type: str, message: str
) -> None:
    filename = "handler.mjs" if "export " in code else "handler.cjs"
    worker = serve("node", {filename: code})
    reply = worker.get("/", headers={"x-request-id": "boom"})
    assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
    assert reply.header("x-amz-function-error") == "Unhandled"
    assert message.encode() not in reply.body
    record = error_record(worker, "boom")
    assert (record["errorType"], record["errorMessage"]) == (error_type, message)
    assert record["level"] == "ERROR" and isinstance(record["stackTrace"], list)
    assert_invocation_logged(worker, "boom")


def test_express_error_keeps_its_500(serve: Serve) -> None:
    code = "export default (req, res) => { throw new Error('express'); };"
    worker = serve("node", {"handler.mjs": code})
    reply = worker.get("/", headers={"x-request-id": "boom"})
    assert reply.status == 500
    assert (reply.json()["errorType"], reply.json()["errorMessage"]) == ("Error", "express")
    assert "[ERROR] RequestId: boom Error: express" in worker.wait_output("boom", "stderr")


@pytest.mark.parametrize(
    "code",
    [
        "export const handler = async () => ({ statusCode: 'abc' });",
        "export const handler = async () => ({ statusCode: 200, body: { a: 1 } });",
        "export const handler = async () =>\n"
        "  ({ statusCode: 200, body: '%%', isBase64Encoded: true });",
        "export const handler = async () => { const a = {}; a.a = a; return a; };",
        "export default (req, res) => { const a = {}; a.a = a; res.json(a); };",
        "export default (req, res) => res.status(999).json({});",
        "export default (req, res) => res.set('x-bad', 'a\\nb').send('x');",
    ],
)
def test_invalid_results(serve: Serve, code: str) -> None:
    worker = serve("node", {"handler.mjs": code})
    reply = worker.get("/", headers={"x-request-id": "bad-result"})
    if "export default" in code:  # the original (Express) convention keeps its 500
        assert (reply.status, reply.json()["errorType"]) == (500, "InvalidResponse")
    else:
        assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
        assert error_record(worker, "bad-result")["errorType"] == "InvalidResponse"


@pytest.mark.parametrize(
    ("files", "handler", "message"),
    [
        ({}, "handler.handler", "cannot find module 'handler'"),
        (
            {"handler.mjs": "export const other = 1;"},
            "handler.handler",
            "is undefined or not exported",
        ),
        ({"handler.mjs": "export const handler = ;"}, "handler.handler", "SyntaxError"),
        ({"handler.mjs": "throw new Error('init failed');"}, "handler.handler", "init failed"),
        ({"handler.mjs": "export const handler = 3;"}, "handler.handler", "is not a function"),
        ({"handler.mjs": "import 'nope-not-here';"}, "handler.handler", "nope-not-here"),
        ({"handler.mjs": "export default () => 1;"}, "nodot", "file.function"),
        (
            {"handler.mjs": "export default () => 1;"},
            "handler.main",
            "is undefined or not exported",
        ),
    ],
)
def test_load_failures_are_reported(
    serve: Serve, files: dict[str, str], handler: str, message: str
) -> None:
    assert_load_failure(serve("node", files, handler=handler), message)


def test_convention_override(serve: Serve) -> None:
    code = "export default async (a, b) => ({ lambda: typeof a.rawPath === 'string' });"
    worker = serve("node", {"handler.mjs": code}, convention="lambda")
    assert worker.get("/").json() == {"lambda": True}


def test_stray_async_error_does_not_kill_the_worker(serve: Serve) -> None:
    code = """
        export const handler = async () => {
          setTimeout(() => { throw new Error('stray'); }, 1);
          return 'ok';
        };
    """
    worker = serve("node", {"handler.mjs": code})
    assert worker.get("/").json() == "ok"
    time.sleep(0.05)
    assert worker.get("/").json() == "ok"
    assert "stray" in worker.stderr()
    health = json.loads(worker.get("/__lambdaclone/health").body)
    assert health == {"status": "ok", "convention": "lambda"}
