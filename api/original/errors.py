"""Failures in the original's shape, `{"error": "<message>"}` with 400 or 500: one route class
is the dialect's error boundary, so its routes stay free of try/except like every other."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.errors import noted_error, status_for
from engine.errors import LambdaCloneError

log = logging.getLogger(__name__)


class OriginalRoute(APIRoute):
    """Answers the failures of a route (its dependencies included) as the original did: the
    dialect's one error boundary, so its routes stay free of try/except like every other."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LambdaCloneError as exc:
                return original_error(request, exc)
            except RequestValidationError as exc:
                return JSONResponse({"error": validation_message(exc)}, 400)

        return handle


def original_status(exc: LambdaCloneError) -> int:
    """The one table's status, folded into the original's 400 and 500 (authentication, which
    the original did not have, keeps its 401 and 403)."""
    status = status_for(exc)
    if status in {401, 403}:
        return status
    return 400 if status < 500 else 500


def original_error(request: Request, exc: LambdaCloneError) -> JSONResponse:
    """`{"error": message}`, noted and with the headers as the native handler does."""
    status = original_status(exc)
    headers = noted_error(request, exc, status)
    return JSONResponse({"error": exc.message}, status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    """The first problem, `field: reason`, as the native errors word it."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in {"body", "query"})
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
