"""What apply, preview and destroy do to one function's stack. Each runs inside
`StackService.run(key, …)`, so it is the only operation on that stack while it runs.
"""

from __future__ import annotations

import threading

from pulumi import automation as auto

from engine.kubernetes import names
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.events import progress_line, resource_changes
from engine.kubernetes.journal import Intent, clear_intent, read_intent, write_intent
from engine.kubernetes.program import desired_hash, function_program, planned_resources
from engine.kubernetes.stacks import (
    Program,
    StackService,
    applied_hash,
    pulumi_failure,
    set_applied_hash,
)
from engine.plan import Plan, diff_specs
from engine.spec import FunctionSpec
from engine.target import ProgressSink


class ProgressRelay:
    """Engine events → short lines for the sink, without repeating the same line."""

    def __init__(self, sink: ProgressSink) -> None:
        self._sink = sink
        self._last: str | None = None
        self._lock = threading.Lock()

    def __call__(self, event: auto.EngineEvent) -> None:
        line = progress_line(event)
        if line:
            self.say(line)

    def say(self, line: str) -> None:
        with self._lock:
            if line == self._last:
                return
            self._last = line
        self._sink(line)


def is_applied(service: StackService, spec: FunctionSpec, cfg: ClusterConfig) -> bool:
    """The last successful `up` converged to exactly this spec and nothing is unfinished."""
    key = spec.key
    if not service.layout.workspace(key).is_dir():
        return False
    workspace = service.function_workspace(key)
    marker = applied_hash(workspace, names.stack_name(key))
    if marker != desired_hash(spec, cfg):
        return False
    return read_intent(service.layout.intent_file(key)) is None


def apply_stack(
    service: StackService, cfg: ClusterConfig, spec: FunctionSpec, progress: ProgressSink
) -> None:
    relay = ProgressRelay(progress)
    if is_applied(service, spec, cfg):
        relay.say("no changes: this spec is already applied (pulumi up skipped)")
        return
    intent_file = service.layout.intent_file(spec.key)
    write_intent(intent_file, Intent("apply", spec))
    program = function_program(spec, cfg)
    stack = service.create_or_select(spec.key, program)
    set_applied_hash(stack.workspace, stack.name, None)
    relay.say(f"pulumi up {stack.name}")
    try:
        stack.up(on_event=relay, program=program, color="never", suppress_progress=True)
    except auto.CommandError as exc:
        raise pulumi_failure("up", exc) from exc
    set_applied_hash(stack.workspace, stack.name, desired_hash(spec, cfg))
    clear_intent(intent_file)


def preview_stack(
    service: StackService,
    cfg: ClusterConfig,
    current: FunctionSpec | None,
    desired: FunctionSpec,
) -> Plan:
    fields = diff_specs(current, desired)
    if is_applied(service, desired, cfg):
        return Plan(fields=fields)
    program = function_program(desired, cfg)
    stack = _existing_stack(service, desired.key, program)
    if stack is None:
        return Plan(fields=fields, resources=planned_resources(desired, cfg))
    events: list[auto.EngineEvent] = []
    try:
        stack.preview(on_event=events.append, program=program, color="never")
    except auto.CommandError as exc:
        raise pulumi_failure("preview", exc) from exc
    return Plan(fields=fields, resources=resource_changes(events))


def destroy_stack(service: StackService, key: str, progress: ProgressSink) -> None:
    relay = ProgressRelay(progress)
    stack = _existing_stack(service, key, None)
    if stack is None:
        service.remove(key, None)
        relay.say(f"nothing to delete: no stack {names.stack_name(key)}")
        return
    write_intent(service.layout.intent_file(key), Intent("destroy"))
    set_applied_hash(stack.workspace, stack.name, None)
    relay.say(f"pulumi destroy {stack.name}")
    try:
        stack.destroy(on_event=relay, color="never", suppress_progress=True)
    except auto.CommandError as exc:
        raise pulumi_failure("destroy", exc) from exc
    service.remove(key, stack)
    relay.say(f"removed stack {stack.name} and its workspace")


def _existing_stack(service: StackService, key: str, program: Program | None) -> auto.Stack | None:
    """The stack if it exists; looking must not leave an empty workspace behind."""
    had_workspace = service.layout.workspace(key).is_dir()
    stack = service.select(key, program)
    if stack is None and not had_workspace:
        service.remove(key, None)
    return stack
