"""The Lambda Runtime API worker (runtimes/provided) as real processes: a `provided` function
whose bootstrap is a shell script (curl, as AWS's own example bootstrap uses), and what the
API tells it; errors, init failures and timeouts as a Function URL answers them."""

from __future__ import annotations

import re
import time

from tests.fixtures.wrapper_harness import Serve, ServeEcho, assert_invocation_logged, default_code
from tests.integration.runtimes.logs import error_record

LOOP = """
    #!/bin/sh
    set -eu
    API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
    H="${TMPDIR:-/tmp}/headers.$$"
    hdr() { sed -n "s/^$1: *\\([^[:space:]]*\\).*/\\1/Ip" "$H"; }
    %s
    while :; do
      EVENT="$(curl -sS -D "$H" "$API/invocation/next")"
      ID="$(hdr Lambda-Runtime-Aws-Request-Id)"
      %s
    done
"""
ECHO = LOOP % (
    "",
    """BODY="{\\"id\\": \\"$ID\\", \\"deadline\\": $(hdr Lambda-Runtime-Deadline-Ms),
      \\"arn\\": \\"$(hdr Lambda-Runtime-Invoked-Function-Arn)\\",
      \\"trace\\": \\"$(hdr Lambda-Runtime-Trace-Id)\\",
      \\"handler\\": \\"$_HANDLER\\", \\"event\\": $EVENT}"
      curl -sS -o /dev/null --data-binary "$BODY" "$API/invocation/$ID/response\"""",
)


def test_the_default_bootstrap_answers_with_the_query(serve_api: Serve) -> None:
    worker = serve_api("provided", {"bootstrap": default_code("provided")})
    reply = worker.get("/hello?a=1&b=2", {"x-request-id": "p-1"})
    assert (reply.status, reply.header("content-type")) == (200, "application/json")
    assert reply.json() == {
        "message": "Hello from a shell bootstrap",
        "params": {"a": "1", "b": "2"},
    }
    assert reply.header("x-request-id") == "p-1"
    assert_invocation_logged(worker, "p-1")
    assert worker.get("/__lambdaclone/health").json() == {"status": "ok", "convention": "lambda"}


def test_the_bootstrap_gets_the_documented_headers_and_the_wrappers_event(
    serve_api: Serve, serve_echo: ServeEcho
) -> None:
    worker = serve_api("provided", {"bootstrap": ECHO}, handler="function.handler")
    headers = {"content-type": "application/json", "host": "fn.example.com"}
    request = ("POST", "/p/q?x=1&x=2", '{"k": "v"}', headers)
    before = time.time() * 1000
    body = worker.request(*request[:3], {**request[3], "x-request-id": "p-2"}).json()
    assert body["id"] == "p-2" and body["handler"] == "function.handler"
    assert before + 4000 < body["deadline"] <= time.time() * 1000 + 5000  # timeout: 5000 ms
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", body["trace"]
    )
    python = serve_echo("python").request(*request[:3], {**request[3], "x-request-id": "p-2"})
    expected = python.json()
    for event in (body["event"], expected):  # the clock and the connection differ
        for volatile in ("time", "timeEpoch"):
            event["requestContext"].pop(volatile)
    assert body["event"] == expected


def test_an_error_is_a_502_with_the_details_in_the_log(serve_api: Serve) -> None:
    answer = """E='{"errorType": "Custom.Bad", "errorMessage": "secret detail",'
      E="$E"' "stackTrace": ["at x"]}'
      curl -sS -o /dev/null -H 'Lambda-Runtime-Function-Error-Type: Custom.Bad' \\
        --data-binary "$E" "$API/invocation/$ID/error\""""
    worker = serve_api("provided", {"bootstrap": LOOP % ("", answer)})
    reply = worker.get("/", {"x-request-id": "p-3"})
    assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
    assert reply.header("x-amz-function-error") == "Unhandled"
    assert b"secret" not in reply.body
    record = error_record(worker, "p-3")
    assert (record["errorType"], record["errorMessage"]) == ("Custom.Bad", "secret detail")
    assert record["stackTrace"] == ["at x"]
    assert_invocation_logged(worker, "p-3")


def test_an_unknown_request_id_is_refused(serve_api: Serve) -> None:
    answer = """WRONG="$API/invocation/nope/response"
      CODE="$(curl -s -o /dev/null -w '%{http_code}' --data-binary '1' "$WRONG")"
      BODY="{\\"refused\\": $CODE}"
      curl -sS -o /dev/null --data-binary "$BODY" "$API/invocation/$ID/response\""""
    worker = serve_api("provided", {"bootstrap": LOOP % ("", answer)})
    assert worker.get("/").json() == {"refused": 400}


def test_init_error_and_early_exit_are_load_failures(serve_api: Serve) -> None:
    init_error = """
        E='{"errorType": "Init.Oops", "errorMessage": "no config"}'
        curl -sS -o /dev/null --data-binary "$E" "$API/init/error"
        exit 1
    """
    worker = serve_api("provided", {"bootstrap": LOOP % (init_error, "")})
    health = worker.get("/__lambdaclone/health")
    assert (health.status, health.json()["errorType"]) == (500, "HandlerLoadError")
    assert health.json()["errorMessage"] == "Init.Oops: no config"
    assert worker.get("/").json() == health.json()

    exits = serve_api("provided", {"bootstrap": "#!/bin/sh\necho starting >&2\nexit 3\n"})
    message = exits.get("/__lambdaclone/health").json()["errorMessage"]
    assert "exited with status 3" in message


def test_a_missing_bootstrap_is_a_load_failure(serve_api: Serve) -> None:
    worker = serve_api("provided", {"README": "no bootstrap here"})
    health = worker.get("/__lambdaclone/health")
    assert health.status == 500 and "cannot find the bootstrap" in health.json()["errorMessage"]


def test_a_timeout_is_a_502_and_resets_the_bootstrap(serve_api: Serve) -> None:
    answer = """case "$EVENT" in *slow*) sleep 30;; esac
      curl -sS -o /dev/null --data-binary '"fast"' "$API/invocation/$ID/response\""""
    worker = serve_api("provided", {"bootstrap": LOOP % ("", answer)})
    reply = worker.get("/slow", {"x-request-id": "p-slow"})
    assert (reply.status, reply.json()) == (502, {"message": "Internal Server Error"})
    assert reply.header("x-amz-function-error") == "Unhandled"
    record = error_record(worker, "p-slow")
    assert record["errorType"] == "Sandbox.Timedout"
    assert record["errorMessage"] == "Task timed out after 5.00 seconds"
    assert worker.get("/next").json() == "fast"  # a fresh bootstrap took over
