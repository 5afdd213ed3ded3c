"""How an invocation's answer reaches the caller when it is not a plain, sized one.

**Streamed.** A worker answers chunked when its handler streams (Lambda's response streaming:
`awslambda.streamifyResponse`): the head goes out at once, then each chunk, within what is left
of the function's timeout. Past the first byte an error can no longer become a status code: a
timeout or a dead worker cuts the answer off — the response is left incomplete, so the server
closes the connection and the caller sees a truncated body, not a whole one — and the failure
goes to the log and the invocation's REPORT line.

**As a Function URL fails.** A Lambda-convention function that timed out or whose worker died
answers 502 with a generic body and `X-Amz-Function-Error: Unhandled`; the details are logged.
"""

from __future__ import annotations

import asyncio
import logging

from api.invoke_request import REQUEST_ID, Send
from api.upstream_client import BodyStream, Headers, UpstreamFailed

log = logging.getLogger("lambdaclone.invoke")


async def send_streamed(
    send: Send, status: int, headers: Headers, stream: BodyStream, deadline: float
) -> str | None:
    """Forward the head and every chunk until the body ends or `deadline` (loop time) passes;
    the error code of a stream cut off (`function_timed_out`, `function_crashed`), else None."""
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async with asyncio.timeout_at(deadline):
            async for chunk in stream.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except TimeoutError:
        log.warning("a streamed answer ran past the function's timeout: cut off")
        return "function_timed_out"
    except UpstreamFailed as exc:
        log.warning("a streamed answer was cut off: %s", exc)
        return "function_crashed"
    finally:
        stream.close()
    await send({"type": "http.response.body", "body": b""})
    return None


FUNCTION_URL_ERROR_BODY = b'{"message":"Internal Server Error"}'


async def send_function_url_error(send: Send, request_id: str) -> None:
    """A Lambda-convention function that timed out or whose worker died answers as a
    Function URL does: 502, a generic body, `X-Amz-Function-Error: Unhandled`."""
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amz-function-error", b"Unhandled"),
        (REQUEST_ID, request_id.encode("latin-1")),
        (b"content-length", b"%d" % len(FUNCTION_URL_ERROR_BODY)),
    ]
    await send({"type": "http.response.start", "status": 502, "headers": headers})
    await send({"type": "http.response.body", "body": FUNCTION_URL_ERROR_BODY})
