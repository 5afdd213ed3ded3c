"""An in-memory `Target` for control-plane tests: records calls, can fail or block on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from engine.errors import FunctionNotReady, LambdaCloneError
from engine.plan import ChangeOp, FieldChange, Plan, ResourceChange
from engine.spec import FunctionSpec
from engine.target import ProgressSink, Upstream

GATE_TIMEOUT_S = 10.0


@dataclass
class FakeTarget:
    name: str = "fake"
    calls: list[tuple[str, str]] = field(default_factory=list)
    applied: dict[str, FunctionSpec] = field(default_factory=dict)
    previews: list[tuple[FunctionSpec | None, FunctionSpec]] = field(default_factory=list)
    fail_with: LambdaCloneError | None = None
    gate: threading.Event | None = None
    """When set, apply/destroy wait for it (at most GATE_TIMEOUT_S) before finishing."""
    entered: threading.Event = field(default_factory=threading.Event)
    progress_lines: int = 3
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
        self.previews.append((current, desired))
        op: ChangeOp = "create" if current is None else "update"
        changes = (FieldChange("image", current.image if current else None, desired.image),)
        return Plan(fields=(), resources=(ResourceChange("worker", "fake:Worker", op, changes),))

    def apply(self, spec: FunctionSpec, progress: ProgressSink) -> None:
        self._work("apply", spec.key, progress)
        with self._lock:
            self.applied[spec.key] = spec

    def destroy(self, key: str, progress: ProgressSink) -> None:
        self._work("destroy", key, progress)
        with self._lock:
            self.applied.pop(key, None)

    def _work(self, kind: str, key: str, progress: ProgressSink) -> None:
        with self._lock:
            self.calls.append((kind, key))
        self.entered.set()
        for n in range(self.progress_lines):
            progress(f"{kind} step {n}")
        if self.gate is not None:
            self.gate.wait(GATE_TIMEOUT_S)
        if self.fail_with is not None:
            raise self.fail_with

    async def upstream(self, key: str) -> Upstream:
        raise FunctionNotReady(f"{key} is not served by the fake target")

    def recover(self, progress: ProgressSink) -> None:
        self.calls.append(("recover", ""))
        progress("nothing to recover")

    def close(self) -> None:
        self.calls.append(("close", ""))

    def kinds(self, key: str) -> list[str]:
        return [kind for kind, k in self.calls if k == key]
