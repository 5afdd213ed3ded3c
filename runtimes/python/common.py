"""Values shared by the Python wrapper's two conventions.

The wrapper turns one HTTP request into a `Request`, asks an invoker for a `Reply`, and writes
it back. Keeping these plain frozen values (and stdlib-only, cheap imports) is what lets the
conventions stay independent of the HTTP server and keeps the cold start short.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

JSON_TYPE = "application/json"
_WRAPPER_DIR = Path(__file__).resolve().parent
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/graphql",
    }
)


@dataclass(frozen=True)
class FunctionInfo:
    """What the platform told us about the function (from the LAMBDA_* variables)."""

    name: str
    key: str
    version: str
    memory_mb: int
    timeout_ms: int
    region: str
    log_group: str = ""
    log_stream: str = ""


@dataclass(frozen=True)
class Request:
    """One incoming invocation, after the path prefix has been stripped."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    request_id: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively (HTTP header names are)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class Reply:
    """What goes back on the wire: status, headers (repeatable) and raw body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


Invoker = Callable[[Request], Reply]
FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"
FUNCTION_URL_ERROR = {"message": "Internal Server Error"}
"""What a Function URL answers (502) when the function failed: nothing of the error itself."""


@dataclass(frozen=True)
class Bound:
    """A loaded handler: how it is called (`lambda`, `original`, `kubeless`) and its invoker."""

    convention: str
    invoke: Invoker


class InvokeError(Exception):
    """An invocation failure with Lambda's error shape (errorType/errorMessage/stackTrace)."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack

    def payload(self) -> dict[str, object]:
        """The JSON body sent to the caller; stackTrace only when there is one."""
        body: dict[str, object] = {"errorType": self.error_type, "errorMessage": self.message}
        if self.stack is not None:
            body["stackTrace"] = self.stack
        return body


def json_reply(status: int, value: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A JSON reply; used for health, plain Lambda results and errors."""
    body = json.dumps(value).encode()
    return Reply(status, (("content-type", JSON_TYPE), *headers), body)


def error_reply(error: InvokeError) -> Reply:
    """500 with the error JSON; the extra header lets the platform tell it from a user 500."""
    return json_reply(500, error.payload(), (("x-lambdaclone-error-type", error.error_type),))


def function_error_reply() -> Reply:
    """A Lambda-convention failure as a Function URL answers it: 502, a generic body, and
    `X-Amz-Function-Error: Unhandled`; the details go to the function's log only."""
    return json_reply(502, FUNCTION_URL_ERROR, ((FUNCTION_ERROR_HEADER, "Unhandled"),))


def error_log_line(error: InvokeError, request_id: str) -> str:
    """One JSON line in the shape of Lambda's JSON error log (level, requestId, errorType,
    errorMessage, stackTrace), written to stderr instead of being sent to the caller."""
    import datetime  # noqa: PLC0415 - only on the error path

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    record = {
        "timestamp": now.replace("+00:00", "Z"),
        "level": "ERROR",
        "requestId": request_id,
        "errorType": error.error_type,
        "errorMessage": error.message,
        "stackTrace": error.stack or [],
    }
    return json.dumps(record)


def from_exception(exc: BaseException) -> InvokeError:
    """Describe a user exception as Lambda does, leaving out the wrapper's own frames."""
    return InvokeError(type(exc).__name__, str(exc), user_stack(exc.__traceback__))


def user_stack(tb: TracebackType | None) -> list[str]:
    """Formatted frames of a traceback that are not inside this wrapper directory."""
    import traceback  # noqa: PLC0415 - only on the error path: keeps it off the cold start

    frames = [f for f in traceback.extract_tb(tb) if Path(f.filename).parent != _WRAPPER_DIR]
    return traceback.format_list(frames)


def is_text(content_type: str | None, body: bytes) -> bool:
    """Whether a body travels as text in a Lambda event (otherwise it is base64)."""
    if not content_type:
        try:
            body.decode()
        except UnicodeDecodeError:
            return False
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in _TEXT_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )


def new_request_id() -> str:
    """A random (version 4) UUID string without importing `uuid` on the cold path."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
