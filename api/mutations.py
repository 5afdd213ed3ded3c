"""Turning a create/update/delete into its HTTP answer: 202 + Location while the operation
runs, or — with `?wait=true` — the outcome once it finished (bounded by a timeout)."""

from __future__ import annotations

from fastapi import Response

from api.platform import Platform
from api.schemas import FunctionOut, MutationOut, OperationOut, operation_url
from engine.errors import OperationFailed
from engine.service import Mutation


async def answer(
    platform: Platform, mutation: Mutation, response: Response, wait: bool, timeout_s: float
) -> MutationOut:
    """202 while work is queued, 200 when nothing had to be done or the awaited work
    succeeded; an awaited failure raises so the error table picks its status."""
    op = mutation.operation
    record = mutation.function
    if op is not None:
        response.headers["Location"] = operation_url(op.id)
    if op is not None and wait and op.live:
        await platform.runner.wait(op.id, timeout_s)
        op = await platform.store.operations.get(op.id) or op
        record = await platform.store.functions.get(record.key) or record
    if op is not None and op.state == "failed" and wait:
        error = op.error
        raise OperationFailed(
            op.id,
            error.code if error else "operation_failed",
            error.message if error else "the operation failed",
            dict(error.detail) if error else {},
        )
    live = op is not None and op.live
    response.status_code = 202 if live or (mutation.changed and not wait) else 200
    return MutationOut(
        function=FunctionOut.of(record, platform.settings.endpoint_base),
        operation=OperationOut.of(op) if op else None,
        changed=mutation.changed,
    )
