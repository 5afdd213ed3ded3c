"""The one table from engine errors to HTTP statuses, and the handlers that render every error
(the platform's, request validation, unknown routes) as `{"error": {code, message, detail}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors as e

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[e.LambdaCloneError], int] = {
    e.CodeTooLarge: 413,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.CrossSiteRequest: 403,
    e.HostNotAllowed: 403,
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
    e.TargetError: 502,
    e.FunctionNotReady: 503,
    e.TooManyRequests: 429,
    e.FunctionCrashed: 502,
    e.FunctionTimedOut: 504,
    e.InvokeError: 502,
    e.CodeNotFound: 500,
    e.CatalogSourceMissing: 500,
    e.LambdaCloneError: 500,
}
_STATUS_BY_CODE = {cls.code: status for cls, status in reversed(STATUS_BY_ERROR.items())}
OPERATION_FAILED_DEFAULT = 502


def status_for(exc: e.LambdaCloneError) -> int:
    """The table entry of the nearest class; a failed operation answers with the status of
    the error it recorded (by code: the class is not stored)."""
    if isinstance(exc, e.OperationFailed):
        return _STATUS_BY_CODE.get(exc.code, OPERATION_FAILED_DEFAULT)
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": jsonable_encoder(detail or {})}}


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.LambdaCloneError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status in {429, 503}:
        headers["Retry-After"] = str(exc.detail.get("retry_after_s", 1))
    if "request_id" in exc.detail:
        headers["x-request-id"] = str(exc.detail["request_id"])
    if status >= 500:
        log.warning("%s %s → %s %s: %s", request.method, request.url.path, status, exc.code, exc)
    return JSONResponse(error_body(exc.code, exc.message, exc.detail), status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p not in {"body", "query", "header"})
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return JSONResponse(error_body("invalid_request", message, {"errors": problems}), 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(
        error_body(code, str(exc.detail)), exc.status_code, headers=dict(exc.headers or {})
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(e.LambdaCloneError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
