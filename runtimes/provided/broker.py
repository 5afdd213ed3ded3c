"""The hand-over between the HTTP side of a `provided` worker and its bootstrap: invocations
wait here until the bootstrap asks for one (`/invocation/next`) and answers it.

Lambda runs one invocation at a time per runtime process, so a worker has one bootstrap and
concurrent invocations wait for it to ask again. Standard library only (it runs in the worker).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Invocation:
    """One event waiting for (or being handled by) the bootstrap."""

    request_id: str
    event: bytes
    deadline_ms: int
    """Wall-clock epoch milliseconds at which the function's timeout runs out."""
    trace_id: str
    taken: bool = False
    """Handed to the bootstrap (not only queued)."""
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Outcome:
    """What the bootstrap posted: its response, or its error (`kind` = `error`)."""

    kind: str
    body: bytes
    error_type: str = ""


@dataclass
class Waiter:
    """A bootstrap's `/invocation/next` waiting for an event; `deliver` answers it."""

    deliver: Callable[[Invocation], None]
    sent: threading.Event = field(default_factory=threading.Event)
    delivered: bool = False
    """False when dropped (its bootstrap is gone): the connection is then closed unanswered."""


class Broker:
    """Waiting bootstraps, invocations in progress, and whether the bootstrap initialised.

    The invoking thread writes the event to the waiting bootstrap's connection itself
    (`dispatch`): no hop through another thread on the way in.
    """

    def __init__(self) -> None:
        self._waiting: queue.Queue[Waiter] = queue.Queue()
        self._pending: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self.ready = threading.Event()
        """Set once the bootstrap first asked for an invocation, or is known not to start."""

    def wait(self, waiter: Waiter) -> None:
        """Called by `/invocation/next`: blocks until an invocation was delivered to it."""
        self._waiting.put(waiter)
        self.ready.set()
        waiter.sent.wait()

    def is_pending(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._pending

    def dispatch(self, invocation: Invocation, timeout_s: float) -> bool:
        """Hand `invocation` to the next waiting bootstrap (False: none asked in time)."""
        with self._lock:
            self._pending[invocation.request_id] = invocation
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                waiter = self._waiting.get(timeout=left)
            except queue.Empty:
                break
            try:
                waiter.deliver(invocation)
                waiter.delivered = invocation.taken = True
            except OSError:  # that connection is gone (a bootstrap that exited): the next one
                continue
            finally:
                waiter.sent.set()
            return True
        return False

    def complete(self, request_id: str, outcome: Outcome) -> bool:
        """Hand the bootstrap's answer to the waiting request; False for an unknown id."""
        with self._lock:
            invocation = self._pending.pop(request_id, None)
        if invocation is None:
            return False
        invocation.outcome = outcome
        invocation.done.set()
        return True

    def forget(self, invocation: Invocation) -> None:
        """The request gave up (timeout): a late answer for it is refused."""
        with self._lock:
            self._pending.pop(invocation.request_id, None)
        invocation.done.set()

    def fail_all(self, error_type: str, message: str, *, taken_only: bool = False) -> None:
        """Fail the invocations in progress (`taken_only`: those handed to a bootstrap that
        exited; the others wait for its successor); stale waiters are dropped."""
        with self._lock:
            waiting = [i for i in self._pending.values() if i.taken or not taken_only]
            for invocation in waiting:
                del self._pending[invocation.request_id]
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        for invocation in waiting:
            invocation.outcome = Outcome("error", body, error_type)
            invocation.done.set()
        self.drop_waiters()

    def drop_waiters(self) -> None:
        """Forget the `/next` calls of a bootstrap that is gone (their connections too)."""
        while True:
            try:
                self._waiting.get_nowait().sent.set()
            except queue.Empty:
                return


def epoch_ms() -> int:
    return int(time.time() * 1000)
