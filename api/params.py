"""Query parameters shared by the routers, declared once so they validate and document alike."""

from __future__ import annotations

from typing import Annotated, get_origin

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError

from api.auth import Bearer, principal_of
from api.deps import PlatformDep

READ_METHODS = frozenset({"GET", "HEAD", "DELETE"})

KeyQuery = Annotated[str, Query(description="The function's key.", min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]


async def refuse_unknown_query(
    request: Request, platform: PlatformDep, credentials: Bearer
) -> None:
    """A read or a delete names only the query parameters its route declares: a misspelt
    filter (`?phse=Ready`) is 422, not silently ignored, and so is a single-valued one given
    twice — once the caller is known (401 first, as on every route). Writes take a package's
    fields in the query string: api/bodies.py checks those."""
    if request.method not in READ_METHODS:
        return
    principal_of(request, platform.access, credentials)
    dependant = getattr(request.scope.get("route"), "dependant", None)
    params = dependant.query_params if dependant else []
    declared = {p.alias or p.name for p in params}
    unknown = [name for name in request.query_params if name not in declared]
    if unknown:
        problem = {"loc": ["query", unknown[0]], "msg": "unknown query parameter", "type": "extra"}
        raise RequestValidationError([problem])
    lists = {p.alias or p.name for p in params if get_origin(p.field_info.annotation) is list}
    names = [name for name, _ in request.query_params.multi_items() if name not in lists]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:  # `?name=a&name=b`: which one was meant is not ours to guess
        problem = {"loc": ["query", repeated], "msg": "given more than once", "type": "repeated"}
        raise RequestValidationError([problem])
