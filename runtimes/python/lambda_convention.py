"""The AWS Lambda convention: `handler(event, context)` with a Function URL (v2.0) event, or
the REST API's payload 1.0 event, routed by the function's route templates (`gateway`).

Existing Lambda functions must run unchanged, so the event, the context and the way a result
becomes an HTTP response follow what API Gateway HTTP APIs / Function URLs do.
`lambda_invoker` is the whole HTTP side (route, event, result); the Runtime API worker
(runtimes/provided/server.py) reuses it with its own way of calling the function.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from runtimes.contract import (
    ACCOUNT_ID,
    DEFAULT_ROUTE,
    function_arn,
    log_group_name,
    log_stream_name,
)
from runtimes.python.common import (
    JSON_TYPE,
    FunctionInfo,
    InvokeError,
    Invoker,
    Reply,
    Request,
    is_text,
)
from runtimes.python.gateway import (
    EventOptions,
    Match,
    build_v1_event,
    match,
    not_found_reply,
    v1_headers,
)

Call = Callable[[dict[str, Any], Request], object]
"""Runs the function on one event and gives its result (the handler's return value)."""


class LambdaContext:
    """The `context` argument, with the attribute names of the Python Lambda runtime."""

    def __init__(self, request_id: str, info: FunctionInfo, started: float) -> None:
        self.aws_request_id = request_id
        self.function_name = info.name
        self.function_version = info.version
        self.memory_limit_in_mb = str(info.memory_mb)
        self.invoked_function_arn = function_arn(info.region, info.name)
        self.log_group_name = info.log_group or log_group_name(info.name)
        self.log_stream_name = info.log_stream or log_stream_name(info.key, info.version)
        self.identity: object = None
        self.client_context: object = None
        self._deadline = started + info.timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the platform cuts the invocation off (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def build_event(req: Request, info: FunctionInfo, route: Match | None = None) -> dict[str, Any]:
    """The API Gateway HTTP API v2 / Function URL event for one request; `route` is the
    route template it matched (`$default` when None)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in req.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    now = time.time()
    host = headers.get("host", "localhost")
    route_key = route.key if route is not None else DEFAULT_ROUTE
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": info.key or info.name,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": req.protocol,
                "sourceIp": req.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": req.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if route is not None and route.parameters:
        event["pathParameters"] = route.parameters
    query = _query_parameters(req.query)
    if query:
        event["queryStringParameters"] = query
    if req.body:
        _attach_body(event, req.body, headers.get("content-type"))
    return event


def _query_parameters(raw: str) -> dict[str, str]:
    """Repeated parameters are comma-joined, as API Gateway v2 does."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def _attach_body(event: dict[str, Any], body: bytes, content_type: str | None) -> None:
    if is_text(content_type, body):
        event["body"] = body.decode("utf-8", errors="replace")
    else:
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True


def to_reply(result: object, event_format: str = "2.0") -> Reply:
    """Turn a handler's result into HTTP: `{statusCode, ...}` as given; in 2.0, anything else
    as JSON (1.0 infers nothing: anything else is an `InvalidResponse`)."""
    structured = isinstance(result, dict) and "statusCode" in result
    if event_format == "1.0":
        if not structured:
            why = "a payload 1.0 result must be an object with statusCode (and headers, body)"
            raise InvokeError("InvalidResponse", why)
        assert isinstance(result, dict)
        return _structured_reply(result, v1_headers(result))
    if isinstance(result, dict) and structured:
        return _structured_reply(result, _v2_headers(result))
    try:
        body = json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise InvokeError("InvalidResponse", f"the result is not JSON-serializable: {exc}") from exc
    return Reply(200, (("content-type", JSON_TYPE),), body.encode())


def _v2_headers(result: dict[Any, Any]) -> list[tuple[str, str]]:
    headers = _result_headers(result.get("headers"))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise InvokeError("InvalidResponse", "cookies must be a list of strings")
    headers.extend(("set-cookie", cookie) for cookie in cookies)
    return headers


def _structured_reply(result: dict[Any, Any], headers: list[tuple[str, str]]) -> Reply:
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvokeError("InvalidResponse", f"statusCode must be an HTTP status, got {status!r}")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", JSON_TYPE))
    body = _result_body(result.get("body"), bool(result.get("isBase64Encoded")))
    return Reply(status, tuple(headers), body)


def _result_headers(raw: object) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise InvokeError("InvalidResponse", "headers must be an object of name -> value")
    headers: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float)):
            raise InvokeError("InvalidResponse", f"header {name!r} must have a scalar value")
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        headers.append((name, text))
    return headers


def _result_body(body: object, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvokeError(
            "InvalidResponse", f"body must be a string, got {type(body).__name__} (json.dumps it)"
        )
    if not is_base64:
        return body.encode()
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise InvokeError("InvalidResponse", f"body is not valid base64: {exc}") from exc


def lambda_invoker(call: Call, info: FunctionInfo, options: EventOptions) -> Invoker:
    """The HTTP side of a Lambda function: the request's route (404 when none matches, the
    function not called), its event in `options`' format, and the result as that format says."""

    def invoke(req: Request) -> Reply:
        route = match(options.routes, req.method, req.path)
        if route is None:
            return not_found_reply()
        if options.event_format == "1.0":
            event = build_v1_event(req, info, route)
        else:
            event = build_event(req, info, route)
        return to_reply(call(event, req), options.event_format)

    return invoke


def make_invoker(fn: Callable[..., object], info: FunctionInfo) -> Invoker:
    """Bind a Lambda-style handler with the event options the platform set (a bad one is a
    `HandlerLoadError`); async handlers are run to completion on a fresh loop."""

    def call(event: dict[str, Any], req: Request) -> object:
        result = fn(event, LambdaContext(req.request_id, info, time.monotonic()))
        return _run_awaitable(result) if hasattr(result, "__await__") else result

    return lambda_invoker(call, info, EventOptions.from_env())


def _run_awaitable(awaitable: Any) -> object:
    import asyncio  # noqa: PLC0415 - only for async handlers: asyncio is a slow import

    async def wait() -> object:
        return await awaitable

    return asyncio.run(wait())
