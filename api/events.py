"""Server-sent events of one operation: the progress lines already recorded, then each new one
as it is recorded, then `done` with the finished operation.

The stream reads the operation's durable record (polling the store) instead of listening to
this process's runner, so it follows an operation whatever process runs it, and a client that
reconnects after a control-plane restart (with `Last-Event-ID`) carries on where it stopped.
FerretDB (1.24) implements neither the `$slice` projection nor the `$slice` aggregation
operator, so each poll reads the operation's document and skips the lines already sent.

Wire format (the id of a progress event is its index in `progress`; `done` has no id, so a
client that reconnects after it resumes after the last line it saw, and gets `done` again):

    event: progress
    data: {"at":"2025-01-01T12:00:00Z","message":"create started (attempt 1)"}
    id: 0

    : keep-alive

    event: done
    data: {"id":"…","state":"succeeded","error":null,…}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from fastapi.sse import ServerSentEvent

from api.schemas import OperationOut, ProgressOut
from engine.errors import StoreUnavailable
from engine.records import Operation
from engine.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamLimits:
    poll_s: float = 0.2
    """How often the operation's record is read while it runs."""
    store_retry_s: float = 1.0
    """How often while the store is unreachable (the stream waits for it, quietly)."""
    keepalive_s: float = 14.0
    """A `: keep-alive` comment after this long without an event, so proxies keep the
    connection; below FastAPI's own 15 s idle ping, so the stream carries one kind only."""
    max_s: float = 900.0
    """A stream ends (without `done`) after this long; the client reconnects with
    `Last-Event-ID` and continues."""


LIMITS = StreamLimits()


class _Outage:
    """What `_read` answers while the store is unreachable."""


OUTAGE = _Outage()


async def operation_events(
    store: Store,
    first: Operation,
    last_event_id: int | None,
    disconnected: Callable[[], Awaitable[bool]],
    limits: StreamLimits,
) -> AsyncIterator[ServerSentEvent]:
    """The events of `first`'s operation after the line `last_event_id` (all without one),
    ending with `done` once it finished, when the client goes away, or after `limits.max_s`."""
    sent = 0 if last_event_id is None else last_event_id + 1
    started = quiet_since = time.monotonic()
    current: Operation | _Outage | None = first
    while True:
        if isinstance(current, Operation):
            for index in range(sent, len(current.progress)):
                yield progress_event(index, current)
                quiet_since = time.monotonic()
            sent = max(sent, len(current.progress))
            if not current.live:
                yield ServerSentEvent(event="done", data=OperationOut.of(current))
                return
        elif current is None:
            return  # the record is gone (its database was dropped): nothing more will come
        now = time.monotonic()
        if now - started >= limits.max_s:
            return
        if now - quiet_since >= limits.keepalive_s:
            yield ServerSentEvent(comment="keep-alive")
            quiet_since = now
        await asyncio.sleep(limits.store_retry_s if current is OUTAGE else limits.poll_s)
        if await disconnected():
            return
        current = await _read(store, first.id)


def progress_event(index: int, op: Operation) -> ServerSentEvent:
    line = op.progress[index]
    return ServerSentEvent(
        event="progress", id=str(index), data=ProgressOut(at=line.at, message=line.message)
    )


async def _read(store: Store, operation_id: str) -> Operation | _Outage | None:
    try:
        return await store.operations.get(operation_id)
    except StoreUnavailable as exc:
        log.debug("events of operation %s wait for the store: %s", operation_id, exc)
        return OUTAGE
