"""Operations: poll one (the `Location` of a 202) or list a function's recent ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ReadyPlatformDep, ServiceDep
from api.routes.docs import error_responses
from api.schemas import OperationOut, OperationPage
from engine.errors import OperationNotFound

router = APIRouter(prefix="/lambda", tags=["operations"])


async def _operation(platform: ReadyPlatformDep, operation_id: str) -> OperationOut:
    op = await platform.store.operations.get(operation_id)
    if op is None:
        raise OperationNotFound(operation_id)
    return OperationOut.of(op)


@router.get(
    "/operations/{operation_id}",
    summary="Get an operation",
    description="State (queued, running, succeeded, failed), timestamps, error and the "
    "progress lines recorded so far.",
    responses=error_responses(404, 422, 503),
)
async def get_operation(
    platform: ReadyPlatformDep, operation_id: Annotated[str, Path(max_length=64)]
) -> OperationOut:
    return await _operation(platform, operation_id)


@router.get(
    "/operation",
    summary="Get an operation (query form)",
    description="The same as `GET /lambda/operations/{id}`, in the style of `GET /lambda?key=`.",
    responses=error_responses(404, 422, 503),
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
)
async def list_operations(
    service: ServiceDep,
    key: Annotated[str, Query(max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OperationPage:
    record = await service.get(key, include_deleted=True)
    ops = await service.store.operations.for_key(record.key, limit)
    return OperationPage(items=[OperationOut.of(op) for op in ops])
