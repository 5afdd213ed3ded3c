"""Lambda response streaming in the node wrapper (a real process): `awslambda.streamifyResponse`
and `awslambda.HttpResponseStream.from`, each write reaching the caller as it is made.

Arrival is shown by order, not timing: the handler writes its first chunk, then waits for a
second request (`/release`) to let it finish; the test reads that chunk before it sends the
release, and the release answers whether the streaming handler was still waiting."""

from __future__ import annotations

import http.client

from tests.fixtures.wrapper_harness import Serve

STREAMING = """
let release;
const released = new Promise((resolve) => { release = resolve; });
let waiting = false;

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  if (event.rawPath === '/release') {
    responseStream.end(JSON.stringify({ waiting, id: context.awsRequestId }));
    release();
    return;
  }
  if (event.rawPath === '/boom') throw new Error('before any byte');
  if (event.rawPath === '/plain') {
    responseStream.write('no prelude');
    responseStream.end();
    return;
  }
  const out = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' },
  });
  waiting = true;
  out.write('first\\n');
  await released;
  waiting = false;
  out.write('second\\n');
  out.end();
});
"""


def test_the_first_chunk_arrives_before_the_handler_finishes(serve: Serve) -> None:
    worker = serve("node", {"app.mjs": STREAMING}, handler="app.handler")
    streamed = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
    streamed.request("GET", "/stream", headers={"x-request-id": "rs-1"})
    answer = streamed.getresponse()  # the head is out before the handler has finished
    assert (answer.status, answer.getheader("x-streamed")) == (201, "yes")
    assert answer.getheader("content-type") == "text/plain"
    assert answer.getheader("transfer-encoding") == "chunked"
    assert answer.getheader("x-request-id") == "rs-1"
    assert answer.read1(64) == b"first\n"  # blocks (then times out) if the body were buffered
    released = worker.get("/release")
    assert released.json()["waiting"] is True  # the handler was still inside its await
    assert answer.read() == b"second\n"
    streamed.close()
    assert "START RequestId: rs-1" in worker.wait_output("REPORT RequestId: rs-1")


def test_a_stream_without_prelude_and_a_failure_before_any_byte(serve: Serve) -> None:
    worker = serve("node", {"app.mjs": STREAMING}, handler="app.handler")
    plain = worker.get("/plain")
    assert (plain.status, plain.body) == (200, b"no prelude")
    assert plain.header("content-type") == "application/octet-stream"
    failed = worker.get("/boom")
    assert (failed.status, failed.json()) == (502, {"message": "Internal Server Error"})
    assert failed.header("x-amz-function-error") == "Unhandled"
    assert "before any byte" in worker.wait_output("before any byte", stream="stderr")


def test_streamify_response_is_a_global_in_commonjs_too(serve: Serve) -> None:
    code = (
        "exports.handler = awslambda.streamifyResponse(async (event, stream) => {\n"
        "  stream.setContentType('text/csv');\n"
        "  stream.write('a,b\\n'); stream.end('1,2\\n');\n"
        "});\n"
    )
    worker = serve("node", {"app.cjs": code}, handler="app.handler")
    reply = worker.get("/")
    assert (reply.status, reply.body, reply.header("content-type")) == (
        200,
        b"a,b\n1,2\n",
        "text/csv",
    )
