"""Answer only for the host names this control plane is (DNS rebinding).

A page on `evil.example` whose name the attacker re-points at 127.0.0.1 is same-origin with the
control plane in the browser's eyes: it could read answers (code, plain env values, tokens a
console shows) as if it were the console. Browsers always send the name they resolved in
`Host`, so every request whose Host is not in `Settings.allowed_host_names` is refused with 403
`host_not_allowed` — reads included, the console and the docs too. Two prefixes are exempt:
`/endpoint/*`, because functions are reached under whatever names their operators give them (and
their answers are theirs to guard), and `/internal/artifacts/*`, because function pods call it
by the control plane's Service name or address, and it answers only to a function's pull token,
which no browser holds (docs/adr/0048).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body, status_for
from api.routes.artifacts import router as artifacts_router
from engine.errors import HostNotAllowed
from engine.formats import ENDPOINT_PREFIX
from engine.settings import host_name

ANY_HOST = "*"
EXEMPT_PREFIXES = (ENDPOINT_PREFIX, f"{artifacts_router.prefix}/")


class HostGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(EXEMPT_PREFIXES):
            host = Headers(scope=scope).get("host", "")
            if not host_allowed(host, self.allowed_hosts):
                refusal = HostNotAllowed(
                    f"this control plane does not answer for {host!r}; "
                    "add the name to LAMBDACLONE_ALLOWED_HOSTS",
                    detail={"host": host},
                )
                body = error_body(refusal.code, refusal.message, refusal.detail)
                await JSONResponse(body, status_for(refusal))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    return ANY_HOST in allowed or _name(host) in allowed


def _name(host: str) -> str:
    """The name part of a Host header (`[::1]:8000` → `[::1]`), as `host_name` writes it."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return ""
    return host_name(name) if name else ""
