"""One run of the Go data plane as a child of the control plane: its stdin carries route
pushes (one JSON line each), its stdout batched stats lines. The pipe is the private channel:
nothing else can write to it, and the child exits when it closes, so a control plane that dies
(even by SIGKILL) leaves no data plane behind serving a stale table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import DataPlaneFailed

log = logging.getLogger("lambdaclone.dataplane")

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 3.0
LINE_LIMIT = 64 * 1024 * 1024

Message = dict[str, Any]


class Child:
    def __init__(self, process: asyncio.subprocess.Process, address: str) -> None:
        self.process = process
        self.address = address
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, argv: Sequence[str], on_message: Callable[[Message], None]) -> Child:
        """Starts it and waits for its `ready` line (it has bound the public port)."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                first = await process.stdout.readline()
        except TimeoutError:
            first = b""
        ready = _parse(first).get("ready") if first else None
        if not isinstance(ready, str):
            await _stop(process)
            raise DataPlaneFailed(
                f"the data plane did not start (exit status {process.returncode}); see its log"
            )
        child = cls(process, ready)
        child._reader = asyncio.create_task(child._read(on_message), name="dataplane-stats")
        return child

    async def push(self, table: object) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"routes": table}, separators=(",", ":")).encode() + b"\n")
        with contextlib.suppress(ConnectionError):  # it died: the supervisor restarts it
            await stdin.drain()

    async def wait(self) -> int:
        return await self.process.wait()

    async def stop(self) -> None:
        await _stop(self.process)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self, on_message: Callable[[Message], None]) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            on_message(_parse(line))


def _parse(line: bytes) -> Message:
    try:
        message = json.loads(line)
    except ValueError:
        log.warning("unreadable line from the data plane: %r", line[:200])
        return {}
    return message if isinstance(message, dict) else {}


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Closing stdin asks it to exit; a kill if it does not."""
    if process.returncode is not None:
        return
    if process.stdin is not None:
        process.stdin.close()
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
