"""Cross-origin requests from the pages of `LAMBDACLONE_CORS_ORIGINS` (off when empty).

A browser lets a page of another origin read an answer only when the answer names that origin
(`Access-Control-Allow-Origin`), and asks first (a preflight `OPTIONS`) before sending what a
plain form could not: JSON bodies, `Authorization`, PATCH and DELETE. This middleware
- answers preflights from a listed origin with the methods and headers the API uses (204);
  from any other origin with 403 `cross_site_request`, so nothing reaches the routes;
- labels the answers to a listed origin with `Access-Control-Allow-Origin` (that origin, never
  `*`) and exposes `Location`, `Retry-After` and `x-request-id`;
- adds `Vary: Origin` to every answer, so a cache never serves one origin's answer to another.
Origins match exactly (scheme, host and port; a default port may be written or not). No
credentials mode: API clients send their token in `Authorization`, which needs none.
`/endpoint/*` is left alone: a function answers its own preflights and CORS headers (the
invoke path forwards every method), as on AWS Lambda Function URLs without a CORS setting.
The cross-site guard (api/origin_guard.py) accepts writes from the same origins.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, status_for
from engine.errors import CrossSiteRequest
from engine.formats import ENDPOINT_PREFIX

ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-CSRF-Token",
    "Last-Event-ID",
)
EXPOSED_HEADERS = ("Location", "Retry-After", "x-request-id")
MAX_AGE_S = 600
"""How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours)."""
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str:
    """`scheme://host[:port]` in the form browsers send it: lowercase, no default port, no
    path. `ValueError` for anything else (`*`, a bare host, a URL with a path, `null`)."""
    text = origin.strip()
    parts = urlsplit(text)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    port = parts.port  # ValueError for a port that is not a number
    if scheme not in DEFAULT_PORTS or not host or parts.path not in {"", "/"}:
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{shown_host}{shown_port}"


def allowed_origins(configured: Iterable[str]) -> frozenset[str]:
    """The configured origins, normalized; a wrong entry stops the start (ValueError naming
    the setting), rather than silently never matching."""
    try:
        return frozenset(normalize_origin(o) for o in configured)
    except ValueError as exc:
        raise ValueError(f"LAMBDACLONE_CORS_ORIGINS: {exc}") from exc


def origin_allowed(origin: str | None, origins: frozenset[str]) -> bool:
    """Whether a request's `Origin` header is one of `origins` (already normalized)."""
    if not origin or not origins:
        return False
    try:
        return normalize_origin(origin) in origins
    except ValueError:
        return False


class CorsMiddleware:
    """Answers preflights and labels answers for the allowed origins."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = allowed_origins(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ENDPOINT_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin_allowed(origin, self.origins)
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            response = preflight(origin, headers) if allowed else refused_preflight(origin)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, _labelling(send, origin if allowed else None))


def preflight(origin: str, headers: Headers) -> Response:
    """The answer to a listed origin's preflight. The lists are the API's whole vocabulary;
    the browser itself refuses a request that asked for more."""
    answer = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(MAX_AGE_S),
        "Vary": "Origin",
    }
    # Chromium's Private Network Access: a public page calling a control plane on a private
    # address asks for this too; a listed origin was allowed on purpose.
    if headers.get("access-control-request-private-network") == "true":
        answer["Access-Control-Allow-Private-Network"] = "true"
    return Response(status_code=204, headers=answer)


def refused_preflight(origin: str) -> Response:
    refusal = CrossSiteRequest(
        f"requests from {origin} are not allowed here: add it to LAMBDACLONE_CORS_ORIGINS",
        detail={"origin": origin},
    )
    body = error_body(refusal.code, refusal.message, refusal.detail)
    return JSONResponse(body, status_for(refusal), headers={"Vary": "Origin"})


def _labelling(send: Send, origin: str | None) -> Send:
    """`send`, adding `Vary: Origin` to the answer and, for a listed origin, the CORS
    headers that let its page read it."""

    async def labelled(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.add_vary_header("Origin")
            if origin is not None:
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        await send(message)

    return labelled
