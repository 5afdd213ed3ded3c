"""Kubeless's convention: `handler(event, context)`, whose return value is the response body.

Kubeless functions must run unchanged, so the event, the context and the way a result becomes
a response follow Kubeless's Python runtime (bottle behind it):
- `event` = {`data`, `event-id`, `event-type`, `event-time`, `event-namespace`, `extensions`}.
  `data` is the parsed body when the content type is `application/json`, else the raw body
  as **bytes** (what Kubeless's Python 3 runtimes pass: code calling `.decode()` keeps
  working). The `event-*` values come from the request headers of those names, as Kubeless
  reads them; when a header is absent, lambdaclone fills in the request id, the content type,
  the invocation's time (RFC 3339, as `kubeless function call` sends it) and `lambdaclone`
  instead of Kubeless's `None`. `extensions.request` is the request, with the commonly used
  part of bottle's request API (`KubelessRequest`).
- `context` = {`function-name`, `timeout` (seconds), `runtime`, `memory-limit`}.
- The result, as bottle answers it: `str`/`bytes` as the body (`text/html; charset=UTF-8`,
  bottle's default type), a `dict` as JSON, `None` as an empty body, a list of strings joined,
  a file-like object read; anything else is a 500 `InvalidResponse`. Always status 200.
Exceptions become the wrapper's 500 (its error JSON), as Kubeless answers 500.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from runtimes.python.common import JSON_TYPE, FunctionInfo, InvokeError, Reply, Request, json_reply

BOTTLE_DEFAULT_TYPE = "text/html; charset=UTF-8"
EVENT_NAMESPACE = "lambdaclone"
FORM_TYPE = "application/x-www-form-urlencoded"

KubelessHandler = Callable[[dict[str, Any], dict[str, Any]], object]


class MultiDict(dict[str, str]):
    """bottle's FormsDict as functions use it: `d[k]` and `d.get(k)` give the last value,
    `getall(k)` every value, and `d.k` a value or "" (never AttributeError)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self._all: dict[str, list[str]] = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)
            self[key] = value

    def getall(self, key: str) -> list[str]:
        return list(self._all.get(key, []))

    def getone(self, key: str, default: str | None = None) -> str | None:
        return self.get(key, default)

    def getunicode(self, key: str, default: str | None = None) -> str | None:
        return self.get(key, default)

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name, "")


class Headers(Mapping[str, str]):
    """Case-insensitive request headers (repeated ones comma-joined), like bottle's."""

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._values: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            old = self._values.get(key)
            self._values[key] = (name.title(), f"{old[1]},{value}" if old else value)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (title for title, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


class KubelessRequest:
    """`event['extensions']['request']`: what Kubeless functions read of bottle's request
    (method, path, query, headers, body, json, forms, cookies, environ)."""

    def __init__(self, req: Request) -> None:
        self.method = req.method.upper()
        self.path = req.path
        self.query_string = req.query
        self.query = MultiDict(parse_qsl(req.query, keep_blank_values=True))
        self.headers = Headers(req.headers)
        self.content_type = self.headers.get("content-type", "")
        self.content_length = len(req.body)
        self.remote_addr = req.source_ip
        self.fullpath = req.path
        host = self.headers.get("host", "localhost")
        scheme = self.headers.get("x-forwarded-proto", "http")
        self.url = f"{scheme}://{host}{req.path}" + (f"?{req.query}" if req.query else "")
        self.cookies = MultiDict(_cookie_pairs(self.headers.get("cookie", "")))
        self.forms = MultiDict(_form_pairs(self.content_type, req.body))
        self.params = MultiDict([*self.query.items(), *self.forms.items()])
        self.environ = _environ(req, self.headers)
        self._raw = req.body

    @property
    def body(self) -> io.BytesIO:
        """A fresh file object over the raw body on every access, as bottle gives."""
        return io.BytesIO(self._raw)

    @property
    def json(self) -> Any:
        """The parsed body for a JSON content type, else None (bottle's rule)."""
        if _media_type(self.content_type) != JSON_TYPE or not self._raw:
            return None
        return json.loads(self._raw)

    def get_header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def get_cookie(self, key: str, default: str | None = None) -> str | None:
        return self.cookies.get(key, default)

    def __repr__(self) -> str:
        return f"<KubelessRequest: {self.method} {self.url}>"


def make_invoker(fn: KubelessHandler, info: FunctionInfo) -> Callable[[Request], Reply]:
    """Bind a Kubeless handler; the context is the same for every call, as in Kubeless."""
    context = {
        "function-name": info.name,
        "timeout": info.timeout_ms / 1000,
        "runtime": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "memory-limit": f"{info.memory_mb}Mi",
    }

    def invoke(req: Request) -> Reply:
        try:
            data = event_data(req)
        except ValueError as exc:
            return _bad_request(f"request body is not valid JSON: {exc}")
        return to_reply(fn(build_event(req, data), context))

    return invoke


def event_data(req: Request) -> Any:
    """The parsed JSON body for `application/json` (charset or not), else the raw bytes."""
    if _media_type(req.header("content-type") or "") == JSON_TYPE and req.body:
        return json.loads(req.body)
    return req.body


def build_event(req: Request, data: Any) -> dict[str, Any]:
    """Kubeless's event for one request (see the module docstring for the fallbacks)."""
    return {
        "data": data,
        "event-id": req.header("event-id") or req.request_id,
        "event-type": req.header("event-type") or req.header("content-type"),
        "event-time": req.header("event-time")
        or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "event-namespace": req.header("event-namespace") or EVENT_NAMESPACE,
        "extensions": {"request": KubelessRequest(req)},
    }


def to_reply(result: object) -> Reply:
    """A handler's return value as bottle would send it."""
    if isinstance(result, dict):
        try:
            body = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            raise InvokeError("InvalidResponse", f"the dict is not JSON: {exc}") from exc
        return Reply(200, (("content-type", JSON_TYPE),), body)
    return Reply(200, (("content-type", BOTTLE_DEFAULT_TYPE),), _body_of(result))


def _body_of(result: object) -> bytes:
    read = getattr(result, "read", None)
    if callable(read):
        result = read()
    if result is None:
        return b""
    if isinstance(result, str):
        return result.encode()
    if isinstance(result, bytes | bytearray):
        return bytes(result)
    if isinstance(result, list | tuple) and all(isinstance(p, str | bytes) for p in result):
        return b"".join(p.encode() if isinstance(p, str) else p for p in result)
    raise InvokeError(
        "InvalidResponse",
        "a Kubeless function returns a str, bytes, a dict, a list of strings or None, "
        f"not {type(result).__name__}",
    )


def _bad_request(message: str) -> Reply:
    error = {"errorType": "InvalidRequestContent", "errorMessage": message}
    return json_reply(400, error, (("x-lambdaclone-error-type", "InvalidRequestContent"),))


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _form_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    if _media_type(content_type) != FORM_TYPE:
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _cookie_pairs(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            pairs.append((name, value))
    return pairs


def _environ(req: Request, headers: Headers) -> dict[str, str]:
    """The WSGI-style environ bottle exposes (`request.environ`), from the request."""
    environ = {
        "REQUEST_METHOD": req.method.upper(),
        "PATH_INFO": req.path,
        "QUERY_STRING": req.query,
        "SERVER_PROTOCOL": req.protocol,
        "REMOTE_ADDR": req.source_ip,
        "CONTENT_TYPE": headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(req.body)),
    }
    for name in headers:
        key = name.upper().replace("-", "_")
        if key not in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            environ[f"HTTP_{key}"] = headers[name]
    return environ
