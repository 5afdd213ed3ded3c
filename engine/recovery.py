"""What the control plane does at every start, before it takes requests: let the target clear
what a crash left, sweep what a cut-short write left, resume unfinished operations, and
reconcile functions whose desired state has no operation (see the write order in
`engine/service.py`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from engine.layer_service import is_referenced
from engine.records import ProgressLine, utcnow

if TYPE_CHECKING:
    from engine.service import FunctionService

log = logging.getLogger(__name__)
ORPHAN_GRACE = timedelta(minutes=10)
"""Revisions and code blobs younger than this are never swept: a create or update may be
between writing them and committing the function."""


async def recover(service: FunctionService) -> None:
    store = service.store
    await asyncio.to_thread(service.target.recover, _log_line)
    await sweep(service)
    live = await store.operations.live()
    for op in live:
        note = f"resumed after a control-plane restart (was {op.state})"
        await store.operations.append(op.id, ProgressLine(utcnow(), note))
        service.runner.submit(op)
    busy = {op.key for op in live}
    for record in await store.functions.unsettled():
        if record.key not in busy:
            await service.reconcile(record.key)


async def sweep(service: FunctionService) -> None:
    """Only what is older than the grace period: a younger orphan may be a write another
    request (or process) is about to commit."""
    store = service.store
    older_than = utcnow() - ORPHAN_GRACE
    current = await store.functions.revisions_of_all()
    await store.revisions.delete_orphans(current, older_than)
    await store.code.sweep(is_referenced(store), older_than)


def _log_line(message: str) -> None:
    log.info("target recovery: %s", message)
