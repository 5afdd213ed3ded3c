"""What apply, preview and destroy do to one function's stack. Each runs inside
`StackService.run(key, …)`, so it is the only operation on that stack while it runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pulumi import automation as auto

from engine.errors import TargetError
from engine.kubernetes import names
from engine.kubernetes.builds import FunctionArtifacts, PodArtifact
from engine.kubernetes.cluster_api import KubeApi
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.events import progress_line, resource_changes
from engine.kubernetes.journal import Intent, clear_intent, read_intent, write_intent
from engine.kubernetes.program import desired_hash, function_program, planned_resources
from engine.kubernetes.resources import serves_through_ingress
from engine.kubernetes.rollout_wait import wait_for_pods_gone, wait_for_rollout
from engine.kubernetes.stacks import (
    Program,
    StackService,
    applied_hash,
    pulumi_failure,
    set_applied_hash,
)
from engine.plan import Plan, diff_specs
from engine.spec import FunctionSpec
from engine.target import ProgressSink, SecretOpener


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


@dataclass(frozen=True)
class ClusterAccess:
    """What an operation needs besides Pulumi: the Kubernetes API (rollouts, pods) and the
    opener of the functions' sealed secrets (their values go into the function's Secret)."""

    api: KubeApi
    secrets: SecretOpener
    artifacts: FunctionArtifacts

    def program(
        self,
        spec: FunctionSpec,
        cfg: ClusterConfig,
        progress: ProgressSink | None = None,
    ) -> tuple[Program, PodArtifact | None]:
        """The inline program, and the built artifact its pods fetch (built now for an
        apply, `progress` given; only looked up for a preview)."""
        built = self.artifacts.prepare(spec, cfg, progress)
        return function_program(spec, cfg, self.secrets.open(spec.config.secrets), built), built


def apply_stack(
    service: StackService,
    cfg: ClusterConfig,
    spec: FunctionSpec,
    progress: ProgressSink,
    access: ClusterAccess,
) -> None:
    """`up` (which only applies the objects), then the rollout: the applied marker is set only
    once the new pods serve, so a function whose pods cannot start is applied again next time."""
    relay = ProgressRelay(progress)
    if is_applied(service, spec, cfg):
        relay.say("no changes: this spec is already applied (pulumi up skipped)")
        return
    program, built = access.program(spec, cfg, relay.say)  # a failed build journals nothing
    intent_file = service.layout.intent_file(spec.key)
    write_intent(intent_file, Intent("apply", spec))
    stack = service.create_or_select(spec.key, program)
    set_applied_hash(stack.workspace, stack.name, None)
    relay.say(f"pulumi up {stack.name}")
    started = time.monotonic()
    try:
        stack.up(on_event=relay, program=program, color="never", suppress_progress=True)
    except auto.CommandError as exc:
        raise pulumi_failure("up", exc) from exc
    applied = time.monotonic()
    relay.say(f"pulumi up took {applied - started:.1f}s; waiting for the rollout")
    wait_for_rollout(
        access.api,
        cfg.namespace,
        spec.key,
        timeout_s=cfg.await_timeout_s,
        need_ingress=serves_through_ingress(spec) and not cfg.skip_await_ingress,
        progress=relay.say,
    )
    relay.say(f"rolled out in {time.monotonic() - applied:.1f}s")
    set_applied_hash(stack.workspace, stack.name, desired_hash(spec, cfg))
    clear_intent(intent_file)
    access.artifacts.settle(spec, built)


def preview_stack(
    service: StackService,
    cfg: ClusterConfig,
    current: FunctionSpec | None,
    desired: FunctionSpec,
    access: ClusterAccess,
) -> Plan:
    fields = diff_specs(current, desired)
    if is_applied(service, desired, cfg):
        return Plan(fields=fields)
    program, built = access.program(desired, cfg)
    stack = _existing_stack(service, desired.key, program)
    if stack is None:
        return Plan(fields=fields, resources=planned_resources(desired, cfg, built is not None))
    events: list[auto.EngineEvent] = []
    try:
        stack.preview(on_event=events.append, program=program, color="never")
    except auto.CommandError as exc:
        raise pulumi_failure("preview", exc) from exc
    return Plan(fields=fields, resources=resource_changes(events))


def destroy_stack(
    service: StackService,
    cfg: ClusterConfig,
    key: str,
    progress: ProgressSink,
    access: ClusterAccess,
) -> None:
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
    access.artifacts.release(key)
    relay.say(f"removed stack {stack.name} and its workspace")
    _await_pods_gone(access.api, cfg, key, relay)


def _await_pods_gone(api: KubeApi, cfg: ClusterConfig, key: str, relay: ProgressRelay) -> None:
    """The Deployment's deletion is not awaited by Pulumi; its pods stop after their preStop
    pause. Waiting for them makes a finished delete mean nothing of the function runs; the
    objects are already gone, so a pod that lingers (or an API error) is only reported."""
    try:
        gone = wait_for_pods_gone(
            api, cfg.namespace, key, timeout_s=cfg.await_timeout_s, progress=relay.say
        )
    except TargetError as exc:
        relay.say(f"could not check that the pods stopped: {exc.message}")
        return
    relay.say("all pods stopped" if gone else "some pods are still stopping")


def _existing_stack(service: StackService, key: str, program: Program | None) -> auto.Stack | None:
    """The stack if it exists; looking must not leave an empty workspace behind."""
    had_workspace = service.layout.workspace(key).is_dir()
    stack = service.select(key, program)
    if stack is None and not had_workspace:
        service.remove(key, None)
    return stack
