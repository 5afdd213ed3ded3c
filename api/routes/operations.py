"""Operations: poll one (the `Location` of a 202), follow one as server-sent events, or list
a function's recent ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api import events
from api.auth import Allowed
from api.deps import ReadyPlatformDep, ServiceDep
from api.params import KeyQuery, Limit
from api.routes.docs import error_responses
from api.schemas import OPERATION_EVENTS_EXAMPLE, ErrorResponse, OperationOut, OperationPage
from engine.errors import OperationNotFound
from engine.records import Operation

router = APIRouter(prefix="/lambda", tags=["operations"])


def _json_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`error_responses` for a route whose own media type is not JSON (its errors still are)."""
    schema = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
    return {
        status: {
            "description": answer["description"],
            "content": {"application/json": {"schema": schema}},
        }
        for status, answer in error_responses(*statuses).items()
    }


async def existing_operation(
    platform: ReadyPlatformDep, operation_id: Annotated[str, Path(max_length=64)]
) -> Operation:
    """Also a dependency: the event stream answers an unknown id 404 before any event."""
    op = await platform.store.operations.get(operation_id)
    if op is None:
        raise OperationNotFound(operation_id)
    return op


async def _operation(platform: ReadyPlatformDep, operation_id: str) -> OperationOut:
    return OperationOut.of(await existing_operation(platform, operation_id))


@router.get(
    "/operations/{operation_id}",
    summary="Get an operation",
    description="State (queued, running, succeeded, failed), timestamps, error and the "
    "progress lines recorded so far.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def get_operation(
    platform: ReadyPlatformDep, operation_id: Annotated[str, Path(max_length=64)]
) -> OperationOut:
    return await _operation(platform, operation_id)


@router.get(
    "/operations/{operation_id}/events",
    response_class=EventSourceResponse,
    summary="Follow an operation (server-sent events)",
    description="A `text/event-stream`: each progress line already recorded, then each new "
    "one as it is recorded (`event: progress`, `id:` the line's index, `data: {at, message}`), "
    "then `event: done` with the finished operation (the body of `GET "
    "/lambda/operations/{id}`), and the stream ends. `Last-Event-ID` resumes after that line. "
    "A `: keep-alive` comment is sent after 14 s without an event. A stream ends without "
    "`done` after 15 minutes (or while the control plane restarts): reconnect with "
    "`Last-Event-ID`, as `EventSource` does by itself. An unknown id is 404 before any event.",
    responses={
        200: {
            "description": "The operation's events, until `done`.",
            "content": {"text/event-stream": {"example": OPERATION_EVENTS_EXAMPLE}},
        },
        **_json_errors(404, 422, 503),
    },
    dependencies=[Allowed("functions:read")],
)
async def operation_events(
    request: Request,
    platform: ReadyPlatformDep,
    op: Annotated[Operation, Depends(existing_operation)],
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            description="The `id` of the last progress event received: resume after it.",
        ),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    stream = events.operation_events(
        platform.store, op, last_event_id, request.is_disconnected, events.LIMITS
    )
    async for event in stream:
        yield event


@router.get(
    "/operation",
    summary="Get an operation (query form)",
    description="The same as `GET /lambda/operations/{id}`, in the style of `GET /lambda?key=`.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def get_operation_by_query(
    platform: ReadyPlatformDep, id: Annotated[str, Query(max_length=64)]
) -> OperationOut:
    return await _operation(platform, id)


@router.get(
    "/operations",
    summary="A function's operations",
    description="The most recent operations of one function, newest first.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def list_operations(
    service: ServiceDep,
    key: KeyQuery,
    limit: Limit = 20,
) -> OperationPage:
    record = await service.get(key, include_deleted=True)
    ops = await service.store.operations.for_key(record.key, limit)
    return OperationPage(items=[OperationOut.of(op) for op in ops])
