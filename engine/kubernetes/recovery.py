"""Putting things right after a crash (the control plane killed during `up` or `destroy`).

1. File-backend locks of dead `pulumi` processes on this host are removed; live ones are
   respected (their stacks are left alone this time).
2. Stacks with pending operations get them cleared (export, drop `pending_operations`,
   import), so the next update does not refuse to run.
3. The journaled intent of every interrupted operation is finished: an apply runs `up` again
   with the journaled spec (server-side apply adopts objects whose create was in flight, so
   none is left outside the state), a destroy runs to the end (stack and workspace removed).
4. Workspaces without a stack and without an intent (an interrupted delete) are removed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pulumi import automation as auto

from engine.errors import TargetError
from engine.kubernetes import names
from engine.kubernetes.actions import ClusterAccess, apply_stack, destroy_stack
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.journal import read_intent
from engine.kubernetes.lockfiles import stack_locks
from engine.kubernetes.stacks import StackService, pulumi_failure
from engine.target import ProgressSink


def recover(
    service: StackService, cfg: ClusterConfig, progress: ProgressSink, access: ClusterAccess
) -> None:
    busy = remove_stale_locks(service, progress)
    existing = service.stack_keys()
    with_workspace = service.workspace_keys()
    todo = sorted(
        key
        for key in with_workspace
        if key not in busy and (key not in existing or service.layout.intent_file(key).exists())
    )
    for key in sorted(existing - with_workspace):
        progress(f"stack {names.stack_name(key)} has no workspace here; left as it is")
    if not todo:
        progress("recovery: nothing to do")
        return
    workers = max(1, min(len(todo), service.settings.max_concurrent_operations))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lc-recover") as pool:
        for key in todo:
            pool.submit(_recover_one, service, cfg, key, progress, access)


def remove_stale_locks(service: StackService, progress: ProgressSink) -> set[str]:
    """Remove dead processes' locks; the keys of stacks still locked by live ones."""
    busy: set[str] = set()
    for lock in stack_locks(service.layout.lock_root()):
        key = names.key_of_stack(lock.stack)
        if lock.is_stale():
            lock.path.unlink(missing_ok=True)
            progress(f"removed the stale lock of {lock.stack} (pid {lock.pid} is gone)")
        elif key:
            busy.add(key)
            progress(f"{lock.stack} is locked by pid {lock.pid} on {lock.hostname}; left alone")
    return busy


def _recover_one(
    service: StackService,
    cfg: ClusterConfig,
    key: str,
    progress: ProgressSink,
    access: ClusterAccess,
) -> None:
    try:
        service.run(key, lambda: recover_stack(service, cfg, key, progress, access))
    except TargetError as exc:
        progress(f"recovery of {names.stack_name(key)} failed: {exc.message}")


def recover_stack(
    service: StackService,
    cfg: ClusterConfig,
    key: str,
    progress: ProgressSink,
    access: ClusterAccess,
) -> None:
    intent = read_intent(service.layout.intent_file(key))
    stack = service.select(key)
    if stack is not None:
        clear_pending_operations(stack, progress)
    if intent is not None and intent.op == "apply" and intent.spec is not None:
        progress(f"finishing the interrupted apply of {names.stack_name(key)}")
        apply_stack(service, cfg, intent.spec, progress, access)
    elif stack is not None and intent is not None:
        progress(f"finishing the interrupted delete of {names.stack_name(key)}")
        destroy_stack(service, cfg, key, progress, access)
    elif stack is None:
        service.remove(key, None)
        progress(f"removed the workspace of {names.stack_name(key)}, which has no stack")


def clear_pending_operations(stack: auto.Stack, progress: ProgressSink) -> int:
    """Drop the operations a killed `up` left pending in the state; how many there were."""
    try:
        state = stack.export_stack()
        deployment = dict(state.deployment or {})
        pending = deployment.pop("pending_operations", None) or []
        if pending:
            stack.import_stack(auto.Deployment(version=state.version, deployment=deployment))
    except auto.CommandError as exc:
        raise pulumi_failure("stack export/import", exc) from exc
    for op in pending:
        resource = op.get("resource", {}) if isinstance(op, dict) else {}
        urn = str(resource.get("urn", "?"))
        progress(f"cleared pending {op.get('type', '?')} of {urn.rsplit('::', 1)[-1]}")
    return len(pending)
