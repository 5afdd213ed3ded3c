"""The local target's sandbox on real workers: each worker has its own unprivileged uid, its
cgroup limits and a Unix socket; a worker started an instant before a crash (never recorded
anywhere) is found by its marker; a worker's exit takes its `setsid` children with it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from engine.local import process
from engine.local.cgroups import Cgroup
from engine.local.orphans import instance_of, marked_processes
from engine.local.target import LocalTarget
from engine.target import Upstream
from tests.fixtures.local_targets import (
    TargetFactory,
    get_upstream,
    make_spec,
    pid_alive,
    wait_until,
)
from tests.integration.engine.local.served import uid_processes

pytestmark = [pytest.mark.timeout(300)]

DAEMON = """
import os, time

def handler(event, context):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    return {"uid": os.getuid()}
"""


def _sandboxed(target: LocalTarget) -> None:
    if target.sandbox.level != "full":
        pytest.skip(f"no sandbox on this machine: {target.sandbox.reason}")


def _upstream(target: LocalTarget, key: str) -> Upstream:
    return asyncio.run(target.upstream(key))


def _cgroup(target: LocalTarget, key: str) -> Cgroup:
    pid = target.status(key)["pid"]
    assert isinstance(pid, int)
    group = Cgroup.of_process(pid, f"/{target.settings.sandbox_cgroup}/")
    assert group is not None
    return group


def test_each_worker_runs_as_its_own_uid_under_its_limits(make_target: TargetFactory) -> None:
    target = make_target(sandbox_pids_max=100)
    _sandboxed(target)
    first, second = make_spec("python", memory_mb=160), make_spec("node", memory_mb=192)
    for spec in (first, second):
        target.apply(spec, lambda _: None)
    statuses = [target.status(spec.key) for spec in (first, second)]
    uids = {status["uid"] for status in statuses}
    assert len(uids) == 2 and all(isinstance(u, int) and u >= 61000 for u in uids)
    for spec, status in zip((first, second), statuses, strict=True):
        assert status["sandbox"] == "full" and status["port"] is None
        assert str(status["socket"]).endswith(f"u{status['uid']}/http.sock")
        group = _cgroup(target, spec.key)
        assert group.name.startswith(f"{spec.key}.")
        limit = int(group.read("memory", "memory.limit_in_bytes"))
        assert limit == spec.limits.memory_mb * 1024 * 1024
        assert group.read("pids", "pids.max").strip() == "100"
        up = _upstream(target, spec.key)
        assert up.socket_path == status["socket"]
        assert get_upstream(up, up.path_prefix)[0] == 200


def test_a_worker_started_the_instant_before_a_crash_is_killed_at_restart(
    make_target: TargetFactory, data_dir: Path
) -> None:
    dead = make_target(prewarm_workers=False)
    spec = make_spec("python")
    dead.apply(spec, lambda _: None)
    active = dead._sup.slots[spec.key].active
    assert active is not None
    # What a crash right after the spawn leaves: a running worker no slot, file or log knows.
    untracked = process.spawn(dead._launch(active, 0), dead._sup.slots[spec.key].logbook, print)
    assert pid_alive(untracked.pid)
    instance = instance_of(data_dir)
    assert untracked.worker_id in {m.mark.worker for m in marked_processes(instance)}

    fresh = make_target(prewarm_workers=False)
    lines: list[str] = []
    fresh.recover(lines.append)
    wait_until(lambda: not pid_alive(untracked.pid), what="the untracked worker to die")
    assert any(untracked.worker_id in line for line in lines), lines
    assert {m.mark.key for m in marked_processes(instance)} <= {spec.key}
    up = _upstream(fresh, spec.key)
    assert get_upstream(up, up.path_prefix)[0] == 200


def test_a_workers_setsid_children_end_with_it(make_target: TargetFactory) -> None:
    target = make_target()
    _sandboxed(target)
    spec = make_spec("python", DAEMON)
    target.apply(spec, lambda _: None)
    up = _upstream(target, spec.key)
    status, body = get_upstream(up, up.path_prefix)
    assert status == 200
    uid = int(body.decode().split(":")[1].strip(" }\n"))
    settings = target.settings
    running = [p for p, u in uid_processes(settings.sandbox_uid_first, 1000) if u == uid]
    assert len(running) >= 3  # tini, the worker, the daemon
    pid = target.status(spec.key)["pid"]
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)  # the sandbox's pid 1: the worker crashes
    wait_until(
        lambda: not any(pid_alive(p) for p in running),
        what="every process of the crashed worker to be gone, the daemon too",
    )
    wait_until(lambda: target.status(spec.key)["state"] == "ready", what="the restart")
