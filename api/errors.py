"""The one table from engine errors to HTTP statuses, and the handlers that render every error
(the platform's, request validation, unknown routes, wrong methods, and whatever reaches the
server's last-resort handler) as `{"error": {code, message, detail}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from engine import errors as e

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[e.LambdaCloneError], int] = {
    e.CodeTooLarge: 413,
    e.PackageTooLarge: 413,
    e.PackageRefused: 422,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.CrossSiteRequest: 403,
    e.HostNotAllowed: 403,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.TokenNotFound: 404,
    e.LayerVersionNotFound: 404,
    e.LayerVersionInUse: 409,
    e.LayerPublishConflict: 409,
    e.InvalidInput: 422,
    e.FunctionNotFound: 404,
    e.OperationNotFound: 404,
    e.StaleRevision: 409,
    e.IdempotencyConflict: 409,
    e.FunctionBusy: 409,
    e.OperationCancelled: 409,
    e.StoreUnavailable: 503,
    e.ToolMissing: 503,
    e.StackLocked: 409,
    e.DependencyBuildFailed: 502,
    e.TargetError: 502,
    e.FunctionNotReady: 503,
    e.TooManyRequests: 429,
    e.FunctionCrashed: 502,
    e.FunctionTimedOut: 504,
    e.InvokeError: 502,
    e.NotSupported: 501,
    e.CodeNotFound: 500,
    e.CatalogSourceMissing: 500,
    e.LambdaCloneError: 500,
}
_STATUS_BY_CODE = {cls.code: status for cls, status in reversed(STATUS_BY_ERROR.items())}
OPERATION_FAILED_DEFAULT = 502


def status_for(exc: e.LambdaCloneError) -> int:
    """The table entry of the nearest class; a failed operation answers with the status of
    the error it recorded (by code: the class is not stored; an input error by its `field`)."""
    if isinstance(exc, e.OperationFailed):
        if exc.code in _STATUS_BY_CODE:
            return _STATUS_BY_CODE[exc.code]
        # an input error's own code (`invalid_package`…) is not a class code; its `field` says
        return (
            STATUS_BY_ERROR[e.InvalidInput] if "field" in exc.detail else OPERATION_FAILED_DEFAULT
        )
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": jsonable_encoder(detail or {})}}


def noted_error(request: Request, exc: e.LambdaCloneError, status: int) -> dict[str, str]:
    """What every rendering of a platform error does besides its body (the native shape
    here, the original dialect's in api/original/errors.py): note its code for the audit
    entry (api/auth.py), log a server-side failure, and the headers its status calls for."""
    request.state.error_code = exc.code
    if status >= 500:
        log.warning("%s %s → %s %s: %s", request.method, request.url.path, status, exc.code, exc)
    table_status = status_for(exc)
    headers: dict[str, str] = {}
    if table_status in {429, 503}:
        headers["Retry-After"] = str(exc.detail.get("retry_after_s", 1))
    if "request_id" in exc.detail:
        headers["x-request-id"] = str(exc.detail["request_id"])
    if table_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="lambdaclone"'
    return headers


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.LambdaCloneError)
    status = status_for(exc)
    headers = noted_error(request, exc, status)
    return JSONResponse(error_body(exc.code, exc.message, exc.detail), status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    request.state.error_code = "invalid_request"
    problems = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p not in {"body", "query", "header"})
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return JSONResponse(error_body("invalid_request", message, {"errors": problems}), 422)


HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    431: "headers_too_large",
}
"""Codes of the errors HTTP itself raises (routing, the server's own limits)."""
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # FastAPI's answer to a body it cannot decode (not UTF-8): as our own bodies answer.
        problem = {"loc": ("body",), "msg": f"the body cannot be read: {exc.__cause__}"}
        return await _validation_error(request, RequestValidationError([problem]))
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers for this path, found by asking the router for each (a
    fresh scope: routing has written into the request's). Starlette's own 405 names only the
    methods of the first route on the path, and FastAPI declares one route per method."""
    scope = request.scope
    base = {
        "type": "http",
        "path": scope["path"],
        "root_path": scope.get("app_root_path", scope.get("root_path", "")),
        "headers": [],
        "query_string": b"",
    }
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**base, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    """The last resort (Starlette's ServerErrorMiddleware, which logs the traceback): what a
    middleware raised, rendered like the rest."""
    if isinstance(exc, e.LambdaCloneError):
        return await _platform_error(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return await _http_error(request, exc)
    request.state.error_code = "internal_error"
    return JSONResponse(error_body("internal_error", "the platform failed unexpectedly"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(e.LambdaCloneError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
