"""The original's routes under /original: translation over the engine's use cases."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from api.auth import audit_key
from api.bodies import JSON_TYPE, read_body
from api.deps import ReadyPlatformDep, ServiceDep
from api.mutations import answer
from api.original.errors import OriginalRoute
from api.original.params import (
    MAX_LIMIT,
    ascending_of,
    limit_of,
    name_from_title,
    page_of,
    required,
    required_id,
    sort_key_of,
)
from api.original.shapes import (
    ERRORS,
    OriginalBody,
    OriginalLambda,
    OriginalList,
    OriginalRuntime,
    OriginalRuntimes,
    body_doc,
    go_time,
    lambda_of,
)
from api.platform import Platform
from engine.errors import InvalidInput, UnknownRuntime, UnsupportedMediaType
from engine.records import FunctionRecord
from engine.service import Mutation
from engine.store import FunctionQuery, Store

ORIGINAL_WAIT_S = 50.0
"""How long a create/update/delete waits for its operation: below the 60 s idle timeout of an
ALB (and of most proxies) in front of the control plane. The work goes on after it."""
STORE_PAGE = 100

router = APIRouter(prefix="/original", tags=["original"], route_class=OriginalRoute)
IdQuery = Annotated[str, Query(alias="id", description="The function's key.", max_length=64)]


# --- routes -----------------------------------------------------------------------------------
@router.get(
    "/lambda/runtimes",
    summary="Selectable runtimes (original dialect)",
    description="The enabled catalog entries, as `{runtimes: [...]}`.",
    responses=ERRORS,
)
async def original_runtimes(platform: ReadyPlatformDep) -> OriginalRuntimes:
    records = await platform.store.catalog.runtimes()
    return OriginalRuntimes(runtimes=[OriginalRuntime.of(r) for r in records])


@router.get(
    "/lambda/default",
    summary="The default shape of a new function (original dialect)",
    description="The default runtime and version (node 20) with that runtime's default code; "
    "`id` and `title` are empty.",
    responses=ERRORS,
)
async def original_default(service: ServiceDep) -> OriginalLambda:
    entry = (await service.catalog()).default
    choice = await service.store.catalog.default()
    if entry is None or choice is None:
        runtime, version = (choice.runtime, choice.version) if choice else ("", "")
        raise UnknownRuntime(runtime, version)
    return OriginalLambda(
        id="",
        title="",
        runtime=entry.runtime,
        version=entry.version,
        code=entry.default_code,
        disabled=False,
        reg_date=go_time(choice.reg_date),
        update_date=go_time(choice.update_date),
    )


@router.get(
    "/lambda/list",
    summary="List functions (original dialect)",
    description="Functions that are not deleted, a page at a time, without their code. 400 "
    "on a `limit` that is not 1 to 1000, a `page` below 1, an unknown `sort` or an `asc` "
    "other than true/false.",
    responses=ERRORS,
)
async def original_list(
    platform: ReadyPlatformDep,
    limit: Annotated[str, Query(description=f"Page size, 1 to {MAX_LIMIT} (default 30).")] = "",
    page: Annotated[str, Query(description="1 or more (default 1).")] = "",
    sort: Annotated[str, Query(description="A field (default reg_date): see the docs.")] = "",
    asc: Annotated[str, Query(description="`true` or `false` (default: newest first).")] = "",
) -> OriginalList:
    size, number = limit_of(limit), page_of(page)
    order, ascending = sort_key_of(sort), ascending_of(asc)
    records = sorted(await _live_functions(platform.store), key=order, reverse=not ascending)
    chosen = records[(number - 1) * size : number * size]
    return OriginalList(
        lambdas=[lambda_of(r) for r in chosen],
        pages=math.ceil(len(records) / size),
        cnt=len(records),
    )


@router.get(
    "/lambda",
    summary="Get a function with its code (original dialect)",
    description="`?id=<key>`. A deleted function is still shown (`disabled: true`), as the "
    "original did.",
    responses=ERRORS,
)
async def original_get(service: ServiceDep, key: IdQuery = "") -> OriginalLambda:
    record = await service.get(required_id(key), include_deleted=True)
    return lambda_of(record, await service.code_of(record))


@router.post(
    "/lambda",
    summary="Create a function (original dialect)",
    description="`{title, runtime, version, code}` (`id` must be empty). Answers 200 with the "
    "new id as a JSON string once the function is deployed (or still deploying after "
    f"{ORIGINAL_WAIT_S:.0f} s); a failed deployment is a 500 with its message.",
    response_model=str,
    responses=ERRORS,
    openapi_extra=body_doc("title", "runtime", "version", "code"),
)
async def original_create(
    request: Request, platform: ReadyPlatformDep, service: ServiceDep
) -> JSONResponse:
    body = await _read(request, platform)
    title, runtime, version = required(body.title, body.runtime, body.version)
    if (body.id or "").strip():
        raise InvalidInput("lambda id param should not be set", field="id")
    changes = {"name": name_from_title(title), "title": title, "runtime": runtime}
    mutation = await service.create({**changes, "version": version}, body.code_given(), None)
    audit_key(request, mutation.function.key)
    await _settle(platform, mutation)
    return JSONResponse(mutation.function.key)


@router.patch(
    "/lambda",
    summary="Update a function (original dialect)",
    description="`{id, title, runtime, version, code}`, all required. Answers 200 with an "
    "empty body once the change is deployed.",
    response_class=Response,
    responses={200: {"description": "Deployed (empty body)."}, **ERRORS},
    openapi_extra=body_doc("id", "title", "runtime", "version", "code"),
)
async def original_update(
    request: Request, platform: ReadyPlatformDep, service: ServiceDep
) -> Response:
    body = await _read(request, platform)
    title, runtime, version, _ = required(body.title, body.runtime, body.version, body.code)
    key = (body.id or "").strip()
    if not key:
        raise InvalidInput("lambda id param should be set", field="id")
    changes = {"title": title, "runtime": runtime, "version": version}
    audit_key(request, key)
    await _settle(platform, await service.update(key, changes, body.code_given(), None))
    return Response(status_code=200)


@router.delete(
    "/lambda",
    summary="Delete a function (original dialect)",
    description="`?id=<key>`. Answers 200 with an empty body once its resources are removed; "
    "deleting a deleted function is 200 too.",
    response_class=Response,
    responses={200: {"description": "Deleted (empty body)."}, **ERRORS},
)
async def original_delete(
    platform: ReadyPlatformDep, service: ServiceDep, key: IdQuery = ""
) -> Response:
    await _settle(platform, await service.delete(required_id(key)))
    return Response(status_code=200)


async def _read(request: Request, platform: Platform) -> OriginalBody:
    """The JSON body. Only JSON: a form (multipart or url-encoded) is what a page of another
    site can send without a CORS preflight."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != JSON_TYPE:
        raise UnsupportedMediaType(
            f"send the body as {JSON_TYPE}, not {media_type or 'untyped'}",
            detail={"content_type": media_type, "accepted": [JSON_TYPE]},
        )
    body, _ = await read_body(request, OriginalBody, platform.settings.max_code_bytes)
    return body


async def _settle(platform: Platform, mutation: Mutation) -> None:
    """Wait for the mutation's operation (bounded); a failed one raises its error."""
    await answer(platform, mutation, Response(), wait=True, timeout_s=ORIGINAL_WAIT_S)


async def _live_functions(store: Store) -> list[FunctionRecord]:
    """Every function that is not deleted: the original sorted and counted over all of them."""
    found: list[FunctionRecord] = []
    after: tuple[datetime, str] | None = None
    while True:
        batch = await store.functions.page(FunctionQuery(STORE_PAGE, after=after))
        found.extend(batch)
        if len(batch) < STORE_PAGE:
            return found
        after = (batch[-1].reg_date, batch[-1].key)
