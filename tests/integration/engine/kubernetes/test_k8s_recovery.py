"""A control plane killed in the middle of `pulumi up` (the whole process group: Python, the
pulumi CLI, the provider) leaves a stale lock, pending operations and a journaled intent;
`recover` on restart clears them and finishes the apply, and a delete then leaves nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.keys import new_key
from engine.kubernetes.journal import read_intent
from engine.kubernetes.lockfiles import pid_alive, stack_locks
from engine.kubernetes.target import KubernetesTarget
from engine.settings import Settings
from tests.fixtures.k8s_cluster import Cluster, function_spec, wait_for

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[4]
WORKER = "tests.fixtures.k8s_crash_worker"


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL the worker and everything it started (the CLI puts plugins in their own
    process groups), as when the control plane's container dies."""
    victims = [pid, *_descendants(pid)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not any(map(pid_alive, victims[1:])), 30, "the killed processes to exit")


def _kill_during_up(settings: Settings, key: str) -> list[str]:
    spec = json.dumps(function_spec(key).to_data())
    proc = subprocess.Popen(
        [sys.executable, "-m", WORKER, settings.model_dump_json(), spec],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line.rstrip())
        if line.startswith("creating Deployment"):
            break
    # at once: `up` no longer waits for the Service's endpoints, so it ends within moments
    _kill_tree(proc.pid)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert "APPLIED" not in seen, seen
    return seen


def test_a_process_killed_during_up_recovers(settings: Settings, cluster: Cluster) -> None:
    key = new_key()
    _kill_during_up(settings, key)
    target = KubernetesTarget(settings)
    try:
        layout = target.service.layout
        intent = read_intent(layout.intent_file(key))
        assert intent is not None and intent.op == "apply"
        left_locks = stack_locks(layout.lock_root())
        assert all(lock.is_stale() for lock in left_locks)

        lines: list[str] = []
        target.recover(lines.append)
        assert not stack_locks(layout.lock_root())
        assert read_intent(layout.intent_file(key)) is None
        assert cluster.is_available(key)
        stack = target.service.select(key)
        assert stack is not None
        state = stack.export_stack().deployment or {}
        assert not state.get("pending_operations")
        types = {resource["type"] for resource in state.get("resources", [])}
        assert "kubernetes:apps/v1:Deployment" in types
        if left_locks:
            assert any(line.startswith("removed the stale lock") for line in lines), lines

        again: list[str] = []
        target.apply(function_spec(key), again.append)
        assert again == ["no changes: this spec is already applied (pulumi up skipped)"]
        target.destroy(key, lambda _line: None)
        assert key not in target.service.stack_keys()
        assert not layout.workspace(key).exists()
        wait_for(lambda: not cluster.objects_of(key), 60, f"no objects of {key}")
    finally:
        target.close()


def test_a_live_lock_is_respected(target: KubernetesTarget, cluster: Cluster) -> None:
    key = new_key()
    target.apply(function_spec(key), lambda _line: None)
    lock_dir = target.service.layout.lock_dir(key)
    assert lock_dir is not None
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = lock_dir / "live.json"
    body = {"pid": os.getpid(), "username": "t", "hostname": os.uname().nodename}
    lock.write_text(json.dumps({**body, "timestamp": "2025-01-01T00:00:00Z"}))
    lines: list[str] = []
    target.recover(lines.append)
    assert lock.exists()
    assert any("left alone" in line for line in lines)
    lock.unlink()
    assert cluster.is_available(key)


def test_recover_removes_a_workspace_whose_stack_is_gone(target: KubernetesTarget) -> None:
    orphan = target.service.layout.workspace(new_key())
    orphan.mkdir(parents=True)
    (orphan / "Pulumi.yaml").write_text("name: lambdaclone-functions\nruntime: python\n")
    lines: list[str] = []
    target.recover(lines.append)
    assert not orphan.exists()
