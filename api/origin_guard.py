"""Refuse state-changing /lambda requests a browser sends on behalf of another site.

Creating a function runs its code on the developer's machine, so a page the developer merely
visits must not be able to POST one to `http://127.0.0.1:8000/lambda`. Browsers send such
"simple" requests (a form, a `no-cors` fetch) without asking first, but they label them:
- `Sec-Fetch-Site: cross-site`, or an `Origin` whose host:port is not the request's `Host`,
  is refused with 403 `cross_site_request`;
- a `Host` not in `Settings.allowed_host_names` is refused with 403 `host_not_allowed` (DNS
  rebinding: the attacker's name resolving to 127.0.0.1 makes its page same-origin).
Clients that are not browsers (the CLI, curl) send no `Origin` and pass. Reads and
`/endpoint/*` (functions are public endpoints) are not checked. The JSON content type that
keeps a cross-site form from posting JSON is checked where bodies are read (api/bodies.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body, status_for
from engine.errors import CrossSiteRequest, HostNotAllowed, LambdaCloneError
from engine.settings import host_name

GUARDED_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
GUARDED_PREFIX = "/lambda"
ANY_HOST = "*"
DEFAULT_PORTS = {"http": 80, "https": 443}


class WriteGuard:
    """ASGI middleware: answers the refusal itself (it runs outside the exception handlers)."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _guarded(scope["method"], scope["path"]):
            refusal = refusal_of(Headers(scope=scope), self.allowed_hosts)
            if refusal is not None:
                body = error_body(refusal.code, refusal.message, refusal.detail)
                await JSONResponse(body, status_for(refusal))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _guarded(method: str, path: str) -> bool:
    return method in GUARDED_METHODS and path.startswith(GUARDED_PREFIX)


def refusal_of(headers: Headers, allowed_hosts: frozenset[str]) -> LambdaCloneError | None:
    """Why a state-changing request must be refused, or None."""
    host = headers.get("host", "")
    if headers.get("sec-fetch-site") == "cross-site":
        return CrossSiteRequest(
            "cross-site requests cannot change functions", detail={"sec_fetch_site": "cross-site"}
        )
    origin = headers.get("origin")
    if origin is not None and not _same_origin(origin, host):
        return CrossSiteRequest(
            f"requests from {origin} cannot change functions here", detail={"origin": origin}
        )
    if ANY_HOST not in allowed_hosts and _host_name(host) not in allowed_hosts:
        return HostNotAllowed(
            f"this control plane does not accept changes addressed to {host!r}; "
            "add the name to LAMBDACLONE_ALLOWED_HOSTS",
            detail={"host": host},
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


def _host_name(host: str) -> str:
    """The name part of a Host header (`[::1]:8000` → `[::1]`), as `host_name` writes it."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return ""
    return host_name(name) if name else ""
