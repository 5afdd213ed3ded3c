"""Runs operations: durable records in the store, executed by asyncio tasks in the API process.

Per function key, operations run one at a time in the order they were created; across keys at
most `max_concurrent` run at once. Target calls block (Pulumi can take minutes), so they run in
a worker thread; their progress lines are handed back to the event loop and appended to the
operation in order. A crash leaves the operation `running` in the store; the function service's
`recover` resubmits it at the next start (target calls are idempotent). Work other than a
delete is never started for a deleted function or one with a delete queued: it is recorded
`failed` with `operation_cancelled`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import suppress
from datetime import datetime

from engine.errors import LambdaCloneError, OperationCancelled, StoreUnavailable
from engine.locks import KeyLocks
from engine.records import (
    ErrorInfo,
    Operation,
    ProgressLine,
    status_failed,
    status_started,
    status_succeeded,
    utcnow,
)
from engine.store import Store
from engine.target import Target

log = logging.getLogger(__name__)
STORE_RETRY_S = 2.0


class OperationRunner:
    def __init__(
        self, store: Store, target: Target, locks: KeyLocks, *, max_concurrent: int
    ) -> None:
        self.store = store
        self.target = target
        self.locks = locks
        self._slots = asyncio.Semaphore(max_concurrent)
        self._queues: dict[str, deque[str]] = {}
        self._drainers: dict[str, asyncio.Task[None]] = {}
        self._done: dict[str, asyncio.Event] = {}

    # --- the public face ----------------------------------------------------------------------
    def submit(self, op: Operation) -> None:
        """Queue `op` behind the earlier operations of its function (once: a replayed
        request may submit an operation that is already queued)."""
        if op.id in self._done:
            return
        self._done[op.id] = asyncio.Event()
        self._queues.setdefault(op.key, deque()).append(op.id)
        if op.key not in self._drainers:
            task = asyncio.create_task(self._drain(op.key), name=f"operations:{op.key}")
            self._drainers[op.key] = task

    async def wait(self, operation_id: str, timeout_s: float) -> bool:
        """True once `operation_id` is no longer running here (or never was)."""
        event = self._done.get(operation_id)
        if event is None:
            return True
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        return event.is_set()

    async def idle(self) -> None:
        """Wait until every submitted operation finished (tests, clean shutdown)."""
        while self._drainers:
            await asyncio.gather(*self._drainers.values(), return_exceptions=True)

    async def close(self, grace_s: float = 5.0) -> None:
        """Give running operations `grace_s` to finish, then cancel the rest; what is left
        `running` in the database is resumed by the next start."""
        tasks = list(self._drainers.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- execution ----------------------------------------------------------------------------
    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                operation_id = queue[0]
                await self._run_until_recorded(operation_id)
                queue.popleft()
                self._done.pop(operation_id).set()
        finally:
            del self._drainers[key]
            if not queue:
                self._queues.pop(key, None)

    async def _run_until_recorded(self, operation_id: str) -> None:
        """An outage must not drop the operation: retry until its outcome is recorded."""
        while True:
            try:
                async with self._slots:
                    await self._run(operation_id)
            except StoreUnavailable as exc:
                log.warning("operation %s waits for the store: %s", operation_id, exc)
                await asyncio.sleep(STORE_RETRY_S)
            else:
                return

    async def _run(self, operation_id: str) -> None:
        op = await self._start(operation_id)
        if op is None:
            return
        error = await self._execute(op)
        async with self.locks.hold(op.key):
            # The function first, then the operation: whoever sees the operation finished
            # sees its effect; a crash in between re-runs the (idempotent) operation.
            now = utcnow()
            record = await self.store.functions.get(op.key)
            if record is not None and error:
                status = status_failed(record.status, op, error, now)
                await self.store.functions.set_status(op.key, status, now)
            elif record is not None:
                status = status_succeeded(record.status, op, now)
                gone = True if op.kind == "delete" else None
                await self.store.functions.set_status(op.key, status, now, disabled=gone)
            await self.store.operations.finish(
                op.id, "failed" if error else "succeeded", error, now
            )

    async def _start(self, operation_id: str) -> Operation | None:
        op = await self.store.operations.get(operation_id)
        if op is None or not op.live:
            return None
        async with self.locks.hold(op.key):
            now = utcnow()
            reason = await self._overtaken(op)
            if reason is not None:
                await self._cancel(op, reason, now)
                return None
            started = await self.store.operations.start(
                op.id, now, f"{op.kind} started (attempt {op.attempts + 1})"
            )
            record = await self.store.functions.get(op.key)
            if started and record:
                await self.store.functions.set_status(
                    op.key, status_started(record.status, started, now), now
                )
        return started

    async def _overtaken(self, op: Operation) -> str | None:
        """Why `op` must not run: work other than a delete is pointless (and would bring the
        function back) once the function is deleted or a delete is waiting for it."""
        if op.kind == "delete":
            return None
        record = await self.store.functions.get(op.key)
        if record is None or record.disabled:
            return "the function was deleted"
        delete = next(
            (o for o in await self.store.operations.live(op.key) if o.kind == "delete"), None
        )
        if delete is not None:
            return f"the function is being deleted (operation {delete.id})"
        return None

    async def _cancel(self, op: Operation, reason: str, now: datetime) -> None:
        """Record `op` as failed without running it; the function's status is left alone."""
        error = ErrorInfo.of(OperationCancelled(f"{op.kind} cancelled: {reason}"))
        await self.store.operations.append(op.id, ProgressLine(now, f"{op.kind} skipped: {reason}"))
        await self.store.operations.finish(op.id, "failed", error, now)

    async def _execute(self, op: Operation) -> ErrorInfo | None:
        """Call the target; its failure becomes the operation's recorded error."""
        async with _ProgressWriter(self.store, op.id) as sink:
            try:
                if op.kind == "delete":
                    await asyncio.to_thread(self.target.destroy, op.key, sink)
                else:
                    revision = await self.store.revisions.get(op.key, op.revision)
                    if revision is None:
                        return ErrorInfo("revision_missing", f"revision {op.revision} is gone")
                    code = await self.store.code.get(revision.spec.code.location)
                    spec = revision.spec.spec(op.key, code)
                    await asyncio.to_thread(self.target.apply, spec, sink)
            except StoreUnavailable:
                raise
            except LambdaCloneError as exc:
                return ErrorInfo.of(exc)
            except Exception as exc:
                # The boundary between a target's bug and a durable record: log it with its
                # traceback and record it, so the operation never stays `running` forever.
                log.exception("operation %s failed unexpectedly", op.id)
                return ErrorInfo("internal_error", f"{type(exc).__name__}: {exc}")
        return None


class _ProgressWriter:
    """A `ProgressSink` for the worker thread: lines go to the loop, then to the operation, in
    the order the target produced them."""

    def __init__(self, store: Store, operation_id: str) -> None:
        self._store = store
        self._id = operation_id
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[ProgressLine | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, message: str) -> None:
        self._loop.call_soon_threadsafe(self._lines.put_nowait, ProgressLine(utcnow(), message))

    async def __aenter__(self) -> _ProgressWriter:
        self._task = asyncio.create_task(self._write())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0)  # let call_soon_threadsafe callbacks from the thread land
        self._lines.put_nowait(None)
        if self._task:
            await self._task

    async def _write(self) -> None:
        while (line := await self._lines.get()) is not None:
            try:
                await self._store.operations.append(self._id, line)
            except StoreUnavailable:
                log.warning("progress of %s lost (store down): %s", self._id, line.message)
