"""Credentials on the way in, and the audit entry on the way out.

Every /lambda route declares what it does with `Allowed("<action>")`; the dependency finds the
caller's credential — `Authorization: Bearer <token>` for API clients, the console's signed
session cookie for browsers (whose writes must also carry the session's CSRF value in
`X-CSRF-Token`) — and refuses with 401 `unauthenticated` or 403 `forbidden` before the route
runs, so nothing about functions (not even whether a key exists) reaches a caller who may not
see it. The principal and the action are left in the request's state, where `AuditLog` (a
middleware) finds them once the answer is sent.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import PlatformDep
from engine.access import Action, Principal
from engine.access_service import AccessService
from engine.audit import AuditEntry
from engine.errors import Forbidden, StoreUnavailable, Unauthenticated
from engine.records import utcnow

log = logging.getLogger(__name__)
SESSION_COOKIE = "lc_session"
CSRF_COOKIE = "lc_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUDITED_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`lct_…`): `lambdaclone token create`, or the admin token "
    "in <data dir>/admin.token.",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def principal_of(request: Request, access: AccessService, credentials: Any) -> Principal:
    """The caller, from its bearer token or its console session (CSRF-checked for writes);
    found once per request (a read's query check and its route's role check share it)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        known = request.state.principal = _authenticate(request, access, credentials)
    return known


def _authenticate(request: Request, access: AccessService, credentials: Any) -> Principal:
    client = client_of(request)
    if isinstance(credentials, HTTPAuthorizationCredentials):
        return access.authenticate(credentials.credentials, client)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, session = access.session_of(cookie, client)
        sent = request.headers.get(CSRF_HEADER, "")
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            sent.encode(), session.csrf.encode()
        ):
            raise Forbidden(
                "a console write must carry its session's X-CSRF-Token",
                detail={"reason": "csrf"},
            )
        return principal
    raise Unauthenticated("a valid API token is required (Authorization: Bearer …)")


def Allowed(action: Action) -> DependsParam:  # noqa: N802 - reads as a declaration
    """A route dependency: the caller must be allowed `action` (recorded for the audit)."""

    async def allowed(request: Request, platform: PlatformDep, credentials: Bearer) -> Principal:
        return admitted(request, platform.access, credentials, action)

    dependency: DependsParam = Depends(allowed)
    return dependency


def AllowedByMethod(reads: Action, writes: Action) -> DependsParam:  # noqa: N802
    """A router-wide dependency: `reads` for GET/HEAD, `writes` for every other method (the
    original dialect, whose routes differ only by method)."""

    async def allowed(request: Request, platform: PlatformDep, credentials: Bearer) -> Principal:
        action = reads if request.method in SAFE_METHODS else writes
        return admitted(request, platform.access, credentials, action)

    dependency: DependsParam = Depends(allowed)
    return dependency


def admitted(
    request: Request, access: AccessService, credentials: Any, action: Action
) -> Principal:
    """The caller, if allowed `action`; left in the request's state for the audit."""
    principal = principal_of(request, access, credentials)
    request.state.principal = principal
    request.state.action = action
    if not principal.may(action):
        raise Forbidden(
            f"the {principal.role} role may not {action}",
            detail={"action": action, "role": principal.role},
        )
    return principal


def audit_key(request: Request, key: str) -> None:
    """Name the function (or token) a mutation acted on, for its audit entry."""
    request.state.audit_key = key


class AuditLog:
    """ASGI middleware: one audit entry per mutation a principal made (allowed or not), with
    the status it ended with and the error code, written after the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in AUDITED_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        state = scope.get("state") or {}
        principal: Principal | None = state.get("principal")
        if principal is None:
            return  # refused before anyone was identified: nothing to attribute
        entry = AuditEntry(
            at=utcnow(),
            action=str(state.get("action") or "unknown"),
            token_id=principal.token_id,
            token_name=principal.name,
            role=principal.role,
            result=str(state.get("error_code") or ("ok" if status < 400 else status)),
            status=status,
            key=state.get("audit_key") or _query_key(scope),
            request_id=str(state.get("request_id") or ""),
            detail={"method": scope["method"], "path": scope["path"]},
        )
        platform = scope["app"].state.platform
        try:
            await platform.store.audit.insert(entry)
        except StoreUnavailable as exc:
            log.warning("audit entry lost (store down): %s %s", entry.action, exc)


def _query_key(scope: Scope) -> str | None:
    query: bytes = scope.get("query_string", b"")
    for part in query.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name in {"key", "id"} and value:
            return value
    return None
