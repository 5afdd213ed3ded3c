"""The /lambda routes: list, read, create, update (with preview), delete, revisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from api.auth import Allowed, audit_key
from api.bodies import CreateBody, UpdateBody, body_openapi, read_body
from api.deps import ReadyPlatformDep, ServiceDep
from api.mutations import answer
from api.pagination import decode_function_cursor, decode_revision_cursor, encode_cursor
from api.params import KeyQuery, Limit
from api.routes.docs import error_responses
from api.schemas import FunctionOut, FunctionPage, MutationOut, PlanOut, RevisionOut, RevisionPage
from engine.records import Phase
from engine.store import FunctionQuery

router = APIRouter(prefix="/lambda", tags=["functions"])

Wait = Annotated[
    bool, Query(description="Answer when the operation finished (bounded by wait_timeout_s).")
]
WaitTimeout = Annotated[float, Query(gt=0, le=600, description="Seconds to wait at most.")]
WAIT_TIMEOUT_S = 60.0


@router.get(
    "/list",
    summary="List functions",
    description="Functions that are not deleted, oldest first, a page at a time.",
    responses=error_responses(422, 503),
    dependencies=[Allowed("functions:read")],
)
async def list_functions(
    *,
    platform: ReadyPlatformDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the last page.")] = None,
    name: Annotated[str | None, Query(description="Name prefix.", max_length=63)] = None,
    runtime: str | None = None,
    phase: Phase | None = None,
) -> FunctionPage:
    after = decode_function_cursor(cursor) if cursor else None
    query = FunctionQuery(limit + 1, name, runtime, phase, after)
    records = await platform.store.functions.page(query)
    page = records[:limit]
    last = page[-1] if len(records) > limit else None
    base = platform.settings.endpoint_base
    return FunctionPage(
        items=[FunctionOut.of(r, base) for r in page],
        next_cursor=encode_cursor(last.reg_date.isoformat(), last.key) if last else None,
    )


@router.get(
    "",
    summary="Get a function",
    description="One function by key, with its code (`code=false` leaves it out). Deleted "
    "functions are 404 unless `include_deleted=true`.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def get_function(
    *,
    platform: ReadyPlatformDep,
    key: KeyQuery,
    code: Annotated[bool, Query(description="Include the source code.")] = True,
    include_deleted: bool = False,
) -> FunctionOut:
    service = platform.service
    record = await service.get(key, include_deleted=include_deleted)
    source = await service.code_of(record) if code else None
    return FunctionOut.of(record, platform.settings.endpoint_base, source)


@router.post(
    "",
    summary="Create a function",
    description="Validates, stores the code and a first revision, and queues a `create` "
    "operation: 202 with `Location` to poll. JSON or multipart (`file` uploaded). An "
    "`Idempotency-Key` makes retries safe: the same key and body answer the original "
    "response; a different body is 409 `idempotency_key_reused`.",
    status_code=202,
    responses={
        200: {"model": MutationOut, "description": "`wait=true`: the function is Ready."},
        **error_responses(403, 409, 413, 415, 422, 502, 503),
    },
    openapi_extra=body_openapi(CreateBody),
    dependencies=[Allowed("functions:write")],
)
async def create_function(
    *,
    request: Request,
    response: Response,
    service: ServiceDep,
    platform: ReadyPlatformDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
    wait: Wait = False,
    wait_timeout_s: WaitTimeout = WAIT_TIMEOUT_S,
) -> MutationOut:
    body, upload = await read_body(request, CreateBody, platform.settings.max_code_bytes)
    code = body.code_given(upload)
    mutation = await service.create(body.changes(), code, idempotency_key)
    audit_key(request, mutation.function.key)
    return await answer(platform, mutation, response, wait, wait_timeout_s)


@router.patch(
    "",
    summary="Update a function (or preview the update)",
    description="Changes any of name, code, runtime, version, handler, env and limits. An "
    "unchanged result answers 200 with `changed: false` and queues nothing, unless the last "
    "deployment failed or never finished: then it is retried (202, a `reconcile` operation). "
    "A function being deleted cannot change (409 `function_deleting`). `base_revision` "
    "guards against lost updates (409 `stale_revision`). `preview=true` answers the Plan "
    "(field and resource changes) and changes nothing.",
    status_code=202,
    response_model=MutationOut | PlanOut,
    responses={
        200: {"description": "Unchanged, awaited, or a preview (a Plan)."},
        **error_responses(403, 404, 409, 413, 415, 422, 502, 503),
    },
    openapi_extra=body_openapi(UpdateBody),
    dependencies=[Allowed("functions:write")],
)
async def update_function(
    *,
    request: Request,
    response: Response,
    service: ServiceDep,
    platform: ReadyPlatformDep,
    preview: Annotated[bool, Query(description="Only show what would change.")] = False,
    wait: Wait = False,
    wait_timeout_s: WaitTimeout = WAIT_TIMEOUT_S,
) -> MutationOut | PlanOut:
    body, upload = await read_body(request, UpdateBody, platform.settings.max_code_bytes)
    changes, code = body.changes(), body.code_given(upload)
    audit_key(request, body.key)
    if preview:
        response.status_code = 200
        return PlanOut.of(await service.preview(body.key, changes, code, body.base_revision))
    mutation = await service.update(body.key, changes, code, body.base_revision)
    return await answer(platform, mutation, response, wait, wait_timeout_s)


@router.delete(
    "",
    summary="Delete a function",
    description="Queues a `delete` operation that removes the function's resources and then "
    "marks it deleted (202). Deleting a deleted function does no new work (200).",
    status_code=202,
    responses={
        200: {"model": MutationOut, "description": "Already deleted, or awaited."},
        **error_responses(403, 404, 422, 502, 503),
    },
    dependencies=[Allowed("functions:write")],
)
async def delete_function(
    *,
    response: Response,
    service: ServiceDep,
    platform: ReadyPlatformDep,
    key: KeyQuery,
    wait: Wait = False,
    wait_timeout_s: WaitTimeout = WAIT_TIMEOUT_S,
) -> MutationOut:
    mutation = await service.delete(key)
    return await answer(platform, mutation, response, wait, wait_timeout_s)


@router.get(
    "/revisions",
    summary="A function's revisions",
    description="The immutable history of code and settings, newest first.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def list_revisions(
    *,
    service: ServiceDep,
    key: KeyQuery,
    limit: Limit = 20,
    cursor: str | None = None,
) -> RevisionPage:
    record = await service.get(key, include_deleted=True)
    # Never past the function's own revision: a higher one is an orphan of a failed write.
    ceiling = record.revision + 1
    before = min(decode_revision_cursor(cursor), ceiling) if cursor else ceiling
    revisions = await service.store.revisions.page(record.key, limit + 1, before)
    page = revisions[:limit]
    more = len(revisions) > limit
    return RevisionPage(
        items=[RevisionOut.of(r) for r in page],
        next_cursor=encode_cursor(page[-1].revision) if more else None,
    )
