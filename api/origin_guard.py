"""Refuse state-changing requests a browser sends on behalf of another site (CSRF).

Creating a function runs its code on the developer's machine, so a page the developer merely
visits must not be able to POST one to `http://127.0.0.1:8000/lambda`. Browsers send such
"simple" requests (a form, a `no-cors` fetch) without asking first, but they label them:
`Sec-Fetch-Site: cross-site`, or an `Origin` whose host:port is not the request's `Host`, is
refused with 403 `cross_site_request`. Clients that are not browsers (the CLI, curl) send no
`Origin` and pass; so do pages of the origins listed in `LAMBDACLONE_CORS_ORIGINS`
(api/cors.py), whatever their site. Reads and `/endpoint/*` are not checked; the original
dialect's writes (`/original/...`) are, like `/lambda`'s. Host names (DNS rebinding) are
api/host_guard.py's, which runs first; the JSON content type that keeps a cross-site form from
posting JSON is checked where bodies are read (api/bodies.py, api/original.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.cors import allowed_origins, origin_allowed
from api.errors import error_body, status_for
from engine.errors import CrossSiteRequest

GUARDED_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
GUARDED_PREFIXES = ("/lambda", "/original")
DEFAULT_PORTS = {"http": 80, "https": 443}


class WriteGuard:
    """ASGI middleware: answers the refusal itself (it runs outside the exception handlers)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        self.origins = allowed_origins(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _guarded(scope["method"], scope["path"]):
            refusal = refusal_of(Headers(scope=scope), self.origins)
            if refusal is not None:
                body = error_body(refusal.code, refusal.message, refusal.detail)
                await JSONResponse(body, status_for(refusal))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _guarded(method: str, path: str) -> bool:
    return method in GUARDED_METHODS and path.startswith(GUARDED_PREFIXES)


def refusal_of(headers: Headers, origins: frozenset[str] = frozenset()) -> CrossSiteRequest | None:
    """Why a state-changing request must be refused, or None. `origins` (normalized, see
    `api.cors.allowed_origins`) are accepted from any site."""
    host = headers.get("host", "")
    origin = headers.get("origin")
    listed = origin_allowed(origin, origins)
    if not listed and headers.get("sec-fetch-site") == "cross-site":
        return CrossSiteRequest(
            "cross-site requests cannot change functions", detail={"sec_fetch_site": "cross-site"}
        )
    if origin is not None and not listed and not _same_origin(origin, host):
        return CrossSiteRequest(
            f"requests from {origin} cannot change functions here", detail={"origin": origin}
        )
    return None


def _same_origin(origin: str, host: str) -> bool:
    """Whether `Origin` names the host:port the request was sent to. A `Host` without a port
    means the default port of the origin's scheme (a proxy in front may have ended TLS)."""
    try:
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        origin_port = parts.port or DEFAULT_PORTS.get(scheme)
        target = urlsplit(f"//{host}")
        host_port = target.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number, a malformed IPv6 literal
        return False
    if scheme not in DEFAULT_PORTS or not parts.hostname or not target.hostname:
        return False
    return (parts.hostname, origin_port) == (target.hostname, host_port)
