"""Running functions: `ANY /endpoint/{key}[/{path}]` (invoke) and `GET /lambda/logs`.

The invoke routes are raw ASGI endpoints (see api/proxy.py for why); an OpenAPI-only route
documents them. The proxy is the platform's (api/platform.py), started and closed with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.routing import Route

from api.auth import Allowed
from api.deps import PlatformDep
from api.invoke_request import Receive, Scope, Send
from api.params import KeyQuery
from api.routes.docs import error_responses
from api.schemas import ErrorResponse
from engine.errors import FunctionNotFound, NotSupported
from engine.keys import nameable
from engine.target import LogSource

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MAX_LOG_LINES = 1000


class InvokeEndpoint:
    """ASGI endpoint: forwards the request to the function's worker."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.platform.proxy.handle(scope, receive, send)


router = APIRouter()
_endpoint = InvokeEndpoint()
for _path in ("/endpoint/{key}", "/endpoint/{key}/{path:path}"):
    router.routes.append(Route(_path, _endpoint, methods=METHODS, include_in_schema=False))

_INVOKE_DOC = """Runs the function: method, path suffix, query string, headers and body reach the
function unchanged (hop-by-hop headers are dropped; `X-Forwarded-For` is replaced by the
caller's address, which becomes the event's `sourceIp`); the function's response comes back as
is. Every response carries `x-request-id` (the caller's, or a new one). Errors are the
platform's JSON error body: 404 `function_not_found`, 404 `not_found` for the reserved suffix
`/__lambdaclone/health`, 413 `payload_too_large` (over 6 MB, decided from Content-Length before
reading), 429 `too_many_requests` with `Retry-After` (the function's concurrency limit; a
request that timed out counts until its handler has stopped), 502 `function_crashed`, 503
`function_not_ready` with `Retry-After` (the worker is restarting after a crash), 504
`function_timed_out` (past the function's timeout)."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "function_not_found: no such function (or it was deleted); "
        "not_found: the reserved suffix /__lambdaclone/health"
    },
    413: {"description": "payload_too_large: the request body is over the limit"},
    429: {"description": "too_many_requests: at the function's concurrency limit"},
    502: {"description": "function_crashed: the worker died or refused the request"},
    503: {"description": "function_not_ready: the worker is restarting after a crash"},
    504: {"description": "function_timed_out: no answer within the function's timeout"},
}


async def _invoke_doc(key: str, path: str) -> None:  # pragma: no cover (never routed)
    """Documentation only: the raw ASGI routes above match first."""
    raise FunctionNotFound(key)


for _method in METHODS:  # one documented operation per method, each with its own id
    router.add_api_route(
        "/endpoint/{key}/{path:path}",
        _invoke_doc,
        methods=[_method],
        operation_id=f"invoke_{_method.lower()}",
        summary="Invoke a function",
        description=_INVOKE_DOC,
        responses=_ERRORS,
        tags=["invoke"],
    )


_LOG_ERRORS = {
    **error_responses(422),
    404: {
        "model": ErrorResponse,
        "description": "`function_not_found`: no such function, or no worker of it ever ran.",
    },
    501: {
        "model": ErrorResponse,
        "description": "`not_supported`: the configured target does not keep function logs.",
    },
}


@router.get(
    "/lambda/logs",
    tags=["invoke"],
    summary="Recent log lines of a function",
    responses=_LOG_ERRORS,
    dependencies=[Allowed("functions:logs")],
)
def function_logs(
    platform: PlatformDep,
    key: KeyQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_LINES)] = 100,
) -> dict[str, object]:
    """Oldest first: the workers' stdout/stderr (the wrapper's START/END/REPORT lines among
    them) and the platform's own events (started, crashed, killed over memory, scaled to zero).
    `stats` are the control plane's counters for the function since it started."""
    target = platform.target
    if not nameable(key):  # as everywhere: what cannot be a key names no function
        raise FunctionNotFound(key)
    if not isinstance(target, LogSource):
        message = f"the {target.name} target does not keep function logs"
        raise NotSupported(message, detail={"target": target.name})
    lines = target.logs(key, limit)
    stats = platform.proxy.stats.get(key)
    return {"key": key, "lines": lines, "stats": stats.to_dict() if stats else None}
