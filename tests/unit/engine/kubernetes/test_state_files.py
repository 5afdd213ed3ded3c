"""The intent journal, file-backend locks and the on-disk layout."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from engine.kubernetes.journal import Intent, clear_intent, read_intent, write_intent
from engine.kubernetes.layout import PulumiLayout
from engine.kubernetes.lockfiles import pid_alive, read_lock, stack_locks
from engine.settings import Settings
from tests.fixtures.k8s_specs import KEY, make_spec


def test_intent_round_trips_a_spec_privately(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "intent.json"
    spec = make_spec(env={"A": "1", "B": "2"})
    write_intent(path, Intent("apply", spec))
    assert read_intent(path) == Intent("apply", spec)
    assert path.stat().st_mode & 0o777 == 0o600
    write_intent(path, Intent("destroy"))
    assert read_intent(path) == Intent("destroy")
    clear_intent(path)
    clear_intent(path)
    assert read_intent(path) is None


def test_unreadable_intents_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "intent.json"
    path.write_text("{not json")
    assert read_intent(path) is None
    path.write_text(json.dumps({"op": "apply"}))
    assert read_intent(path) is None


def _write_lock(root: Path, stack: str, pid: int, hostname: str) -> Path:
    path = root / stack / "0123.json"
    path.parent.mkdir(parents=True)
    body = {"pid": pid, "username": "u", "hostname": hostname, "timestamp": "2025-01-01T00:00:00Z"}
    path.write_text(json.dumps(body))
    return path


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_locks_of_dead_local_processes_are_stale_others_are_not(tmp_path: Path) -> None:
    here = socket.gethostname()
    dead = _write_lock(tmp_path, "lambdaclone-fn-a", _dead_pid(), here)
    live = _write_lock(tmp_path, "lambdaclone-fn-b", os.getpid(), here)
    remote = _write_lock(tmp_path, "lambdaclone-fn-c", _dead_pid(), "another-host")
    (tmp_path / "lambdaclone-fn-d").mkdir()
    (tmp_path / "lambdaclone-fn-d" / "bad.json").write_text("garbage")
    locks = {lock.stack: lock for lock in stack_locks(tmp_path)}
    assert set(locks) == {"lambdaclone-fn-a", "lambdaclone-fn-b", "lambdaclone-fn-c"}
    assert locks["lambdaclone-fn-a"].is_stale()
    assert not locks["lambdaclone-fn-b"].is_stale()
    assert not locks["lambdaclone-fn-c"].is_stale()
    assert read_lock(dead) == locks["lambdaclone-fn-a"]
    assert live.exists() and remote.exists()
    assert stack_locks(None) == [] and stack_locks(tmp_path / "missing") == []


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)


def test_layout_defaults_to_a_file_backend_under_the_data_dir(tmp_path: Path) -> None:
    layout = PulumiLayout.from_settings(Settings(data_dir=tmp_path))
    state = tmp_path / "pulumi" / "state"
    assert layout.backend_url == f"file://{state}"
    assert layout.backend_dir == state
    assert layout.workspace(KEY) == tmp_path / "pulumi" / "workspaces" / KEY
    lock_dir = layout.lock_dir(KEY)
    assert (
        lock_dir
        == state / ".pulumi/locks/organization/lambdaclone-functions" / f"lambdaclone-fn-{KEY}"
    )
    leftovers = layout.stack_leftovers(KEY)
    assert state / ".pulumi/backups/lambdaclone-functions" / f"lambdaclone-fn-{KEY}" in leftovers
    assert (
        state / ".pulumi/stacks/lambdaclone-functions" / f"lambdaclone-fn-{KEY}.json"
        not in leftovers
    )


def test_other_backends_have_no_local_bookkeeping(tmp_path: Path) -> None:
    layout = PulumiLayout.from_settings(
        Settings(data_dir=tmp_path, pulumi_backend_url="s3://bucket/state")
    )
    assert layout.backend_dir is None
    assert layout.lock_root() is None
    assert layout.stack_leftovers(KEY) == []


def test_the_clis_workspace_record_is_named_by_the_project_files_path(tmp_path: Path) -> None:
    layout = PulumiLayout.from_settings(Settings(data_dir=tmp_path))
    project_file = tmp_path / "pulumi" / "workspaces" / KEY / "Pulumi.yaml"
    digest = hashlib.sha1(str(project_file).encode()).hexdigest()
    expected = (
        tmp_path
        / "pulumi"
        / "home"
        / "workspaces"
        / f"lambdaclone-functions-{digest}-workspace.json"
    )
    assert layout.home_workspace_file(KEY) == expected
