"""API Gateway's side of the Lambda convention: route templates and the REST API payload 1.0.

A function may list route templates (`LAMBDA_ROUTES`, grammar in `runtimes.contract`); the
first that matches a request gives the event its `routeKey` (2.0) or `resource` (1.0) and its
`pathParameters`, and a request no route matches is answered 404 `{"message":"Not Found"}`,
as API Gateway does, without calling the handler. `LAMBDA_EVENT_FORMAT=1.0` makes the event
the REST API's (`httpMethod`, `multiValueHeaders`, …) and the result follow 1.0's rules: a
`{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` object, nothing inferred.
The node wrapper's `gateway.mjs` is the same rules in JavaScript (one contract test for both).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from runtimes.contract import (
    ACCOUNT_ID,
    DEFAULT_ROUTE,
    EVENT_FORMAT_ENV,
    EVENT_FORMATS,
    ROUTES_ENV,
    Route,
    parse_routes,
)
from runtimes.python.common import JSON_TYPE, FunctionInfo, InvokeError, Reply, Request, is_text

NOT_FOUND = b'{"message":"Not Found"}'
_IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


@dataclass(frozen=True)
class EventOptions:
    """How events are shaped: the payload format and the ordered route templates."""

    event_format: str = EVENT_FORMATS[0]
    routes: tuple[Route, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> EventOptions:
        """The options the platform set; a bad value is a `HandlerLoadError` (the API
        validates them, so only a hand-started worker can get one)."""
        event_format = env.get(EVENT_FORMAT_ENV) or EVENT_FORMATS[0]
        if event_format not in EVENT_FORMATS:
            why = f"{EVENT_FORMAT_ENV} must be one of {', '.join(EVENT_FORMATS)}"
            raise InvokeError("HandlerLoadError", why)
        try:
            raw = json.loads(env.get(ROUTES_ENV) or "[]")
            routes = parse_routes(raw if isinstance(raw, list) else [raw])
        except ValueError as exc:
            raise InvokeError("HandlerLoadError", f"{ROUTES_ENV}: {exc}") from exc
        return cls(event_format, routes)


@dataclass(frozen=True)
class Match:
    """The route a request took: its key, its path template and the path's variables."""

    key: str
    resource: str
    parameters: dict[str, str] | None = None


def match(routes: tuple[Route, ...], method: str, path: str) -> Match | None:
    """The first route matching `method` and the raw `path`; `$default` without routes."""
    if not routes:
        return Match(DEFAULT_ROUTE, path)
    segments = path[1:].split("/") if path != "/" else []
    for route in routes:
        if route.key == DEFAULT_ROUTE:
            return Match(DEFAULT_ROUTE, path)
        if route.method not in ("ANY", method):
            continue
        bound = _bind(route.segments, segments)
        if bound is not None:
            return Match(route.key, route.path, bound or None)
    return None


def _bind(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    """The path variables when `segments` fit `template`, else None (values URL-decoded)."""
    values: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.endswith("+}"):
            rest = segments[index:]
            if not rest or not all(rest):
                return None
            values[part[1:-2]] = unquote("/".join(rest))
            return values
        if index >= len(segments) or not segments[index]:
            return None
        if part.startswith("{"):
            values[part[1:-1]] = unquote(segments[index])
        elif part != segments[index]:
            return None
    return values if len(segments) == len(template) else None


def not_found_reply() -> Reply:
    """API Gateway's answer to a request no route matches."""
    return Reply(404, (("content-type", JSON_TYPE),), NOT_FOUND)


def build_v1_event(req: Request, info: FunctionInfo, route: Match) -> dict[str, Any]:
    """The REST API (payload 1.0) proxy event for one request."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in req.headers:
        key = name.lower()
        headers[key] = value  # the last value, as API Gateway 1.0 does
        multi_headers.setdefault(key, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(req.query, keep_blank_values=True):
        query[key] = value
        multi_query.setdefault(key, []).append(value)
    now = time.time()
    host = headers.get("host", "localhost")
    user_agent = headers.get("user-agent", "")
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity.update(sourceIp=req.source_ip, userAgent=user_agent)
    event: dict[str, Any] = {
        "version": "1.0",
        "resource": route.resource,
        "path": req.path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": route.parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": info.key or info.name,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "extendedRequestId": req.request_id,
            "httpMethod": req.method,
            "identity": identity,
            "path": req.path,
            "protocol": req.protocol,
            "requestId": req.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": None,
            "resourcePath": route.resource,
            "stage": "$default",
        },
        "body": None,
        "isBase64Encoded": False,
    }
    if req.body and is_text(headers.get("content-type"), req.body):
        event["body"] = req.body.decode("utf-8", errors="replace")
    elif req.body:
        event.update(body=base64.b64encode(req.body).decode("ascii"), isBase64Encoded=True)
    return event


def v1_headers(result: Mapping[Any, Any]) -> list[tuple[str, str]]:
    """`headers` and `multiValueHeaders` merged as API Gateway does: a name in both keeps
    only its `multiValueHeaders` values."""
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise InvokeError("InvalidResponse", "headers and multiValueHeaders must be objects")
    merged: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise InvokeError("InvalidResponse", f"multiValueHeaders[{name!r}] must be a list")
        merged.extend((str(name), _scalar(name, value)) for value in values)
    taken = {str(name).lower() for name in multi}
    for name, value in single.items():
        if str(name).lower() not in taken:
            merged.append((str(name), _scalar(name, value)))
    return merged


def _scalar(name: object, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise InvokeError("InvalidResponse", f"header {name!r} must have a scalar value")
    return str(value)
