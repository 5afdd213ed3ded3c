"""LocalTarget with real wrapper processes: deploy, update, crash, idle, memory, restart, delete."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from engine.errors import FunctionNotFound, TargetError
from engine.local.build import LOCKS, artifact_digest
from engine.local.layout import deployment_name
from engine.local.target import LocalTarget
from engine.spec import FunctionSpec
from engine.target import Upstream
from engine.tools import pinned_versions
from runtimes.registry import RuntimeName
from tests.fixtures.local_targets import (
    PY_ECHO,
    TargetFactory,
    default_code,
    get_upstream,
    make_spec,
    pid_alive,
    wait_until,
    worker_pid,
)

pytestmark = pytest.mark.timeout(300)


def upstream(target: LocalTarget, key: str) -> Upstream:
    return asyncio.run(target.upstream(key))


def call(target: LocalTarget, key: str, suffix: str = "") -> tuple[int, bytes]:
    up = upstream(target, key)
    return get_upstream(up, f"{up.path_prefix}{suffix}")


@pytest.mark.parametrize("runtime", ["python", "node", "golang"])
def test_default_code_of_each_runtime_deploys_and_answers(
    make_target: TargetFactory, runtime: RuntimeName
) -> None:
    target = make_target()
    spec = make_spec(runtime)
    lines: list[str] = []
    target.apply(spec, lines.append)
    assert any("traffic switched" in line for line in lines)

    status, body = call(target, spec.key, "?who=me")
    assert status == 200
    answer = json.loads(body)
    assert "Hello from lambdaclone" in answer["message"]
    assert answer["params"]["who"] in ("me", ["me"])

    layout = target.layout
    rev_dir = layout.deployment_dir(spec.key, spec.spec_hash)
    assert rev_dir.is_dir()
    recorded = json.loads(layout.active_file(spec.key).read_text())["spec"]
    assert recorded["spec_hash"] == spec.spec_hash
    assert worker_pid(target, spec.key) is not None
    wait_until(
        lambda: any("REPORT RequestId" in str(x["message"]) for x in target.logs(spec.key, 50)),
        what="the REPORT line",
    )
    version = target.runtime_versions()[runtime]
    assert version == pinned_versions()[PINNED[runtime]]  # the catalog's, from the tool cache
    assert version.startswith(f"{spec.runtime_version}.")
    assert target.status(spec.key)["interpreter"] == f"{runtime} {version}"
    assert any(f"({runtime} {version}, sandbox " in line for line in lines)


PINNED = {
    "python": "PYTHON_RUNTIME_VERSION",
    "node": "NODE_RUNTIME_VERSION",
    "golang": "GO_RUNTIME_VERSION",
}


def test_applying_the_active_spec_again_is_a_noop(make_target: TargetFactory) -> None:
    target = make_target()
    spec = make_spec("node")
    target.apply(spec, lambda _: None)
    pid = worker_pid(target, spec.key)
    lines: list[str] = []
    target.apply(spec, lines.append)
    assert worker_pid(target, spec.key) == pid
    assert lines == [f"unchanged: {deployment_name(spec.spec_hash)} is already active"]


BROKEN = [
    ("python", "def handler(event, context)\n    return 1\n", "HandlerLoadError: syntax error"),
    ("node", "throw new Error('boom at load');\nexport default () => 1;\n", "boom at load"),
    ("golang", "package main\n\nfunc handler( {\n", "handler.go"),
]


@pytest.mark.parametrize(("runtime", "code", "error"), BROKEN)
def test_a_broken_revision_never_takes_traffic(
    make_target: TargetFactory, runtime: RuntimeName, code: str, error: str
) -> None:
    target = make_target()
    good = make_spec(runtime)
    target.apply(good, lambda _: None)
    pid = worker_pid(target, good.key)

    bad = make_spec(runtime, code, key=good.key)
    with pytest.raises(TargetError, match=error):
        target.apply(bad, lambda _: None)

    assert worker_pid(target, good.key) == pid
    assert call(target, good.key)[0] == 200
    record = json.loads(target.layout.active_file(good.key).read_text())
    assert record["spec"]["spec_hash"] == good.spec_hash
    assert not target.layout.deployment_dir(good.key, bad.spec_hash).exists()


def test_update_switches_traffic_then_stops_the_old_worker(make_target: TargetFactory) -> None:
    target = make_target()
    v1 = make_spec("python", PY_ECHO, timeout_ms=1000)
    target.apply(v1, lambda _: None)
    old_pid = worker_pid(target, v1.key)
    assert old_pid is not None
    assert json.loads(call(target, v1.key)[1])["version"] == "v1"

    v2 = make_spec("python", PY_ECHO, key=v1.key, env={"ECHO_VERSION": "v2"}, timeout_ms=1000)
    target.apply(v2, lambda _: None)
    assert json.loads(call(target, v1.key)[1])["version"] == "v2"
    assert worker_pid(target, v1.key) != old_pid
    wait_until(lambda: not pid_alive(old_pid), what="the old worker to stop after draining")

    v3 = make_spec("python", PY_ECHO, key=v1.key, env={"ECHO_VERSION": "v3"}, timeout_ms=1000)
    target.apply(v3, lambda _: None)  # prunes directories no worker uses (v1; v2 drains)
    assert not target.layout.deployment_dir(v1.key, v1.spec_hash).exists()
    assert target.layout.deployment_dir(v1.key, v3.spec_hash).exists()


def test_a_restarted_control_plane_knows_what_is_deployed(make_target: TargetFactory) -> None:
    first = make_target()
    spec = make_spec("node")
    first.apply(spec, lambda _: None)
    first.close()

    second = make_target()
    assert second.status(spec.key)["state"] == "stopped"
    assert call(second, spec.key)[0] == 200
    assert second.status(spec.key)["state"] == "ready"


def test_recover_kills_workers_left_by_a_dead_control_plane(make_target: TargetFactory) -> None:
    dead = make_target()  # never closed before recovery: stands for a crashed process
    spec = make_spec("python")
    dead.apply(spec, lambda _: None)
    orphan = worker_pid(dead, spec.key)
    assert orphan is not None

    fresh = make_target()
    lines: list[str] = []
    fresh.recover(lines.append)
    assert any(line.startswith("killed orphan worker") and spec.key in line for line in lines)
    wait_until(lambda: not pid_alive(orphan), what="the orphan to die")
    assert call(fresh, spec.key)[0] == 200


def test_a_crashed_worker_is_restarted(make_target: TargetFactory) -> None:
    target = make_target()
    spec = make_spec("node")
    target.apply(spec, lambda _: None)
    pid = worker_pid(target, spec.key)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        new = worker_pid(target, spec.key)
        return new is not None and new != pid and target.status(spec.key)["state"] == "ready"

    wait_until(restarted, what="a restart")
    assert target.status(spec.key)["failures"] == 1
    assert "killed by SIGKILL" in str(target.status(spec.key)["last_exit"])
    messages = [str(line["message"]) for line in target.logs(spec.key, 50)]
    assert any(f"worker pid {pid} killed by SIGKILL" in m for m in messages)
    assert call(target, spec.key)[0] == 200


def test_an_idle_worker_scales_to_zero_and_cold_starts(make_target: TargetFactory) -> None:
    target = make_target(idle_timeout_s=0.5)
    spec = make_spec("python", timeout_ms=500)
    target.apply(spec, lambda _: None)
    pid = worker_pid(target, spec.key)
    assert pid is not None
    wait_until(lambda: not pid_alive(pid), what="the idle worker to stop")
    assert target.status(spec.key)["state"] == "stopped"
    assert spec.key not in target._sup.ready

    assert call(target, spec.key)[0] == 200
    new_pid = worker_pid(target, spec.key)
    assert new_pid is not None and new_pid != pid


def test_a_worker_over_its_memory_limit_is_killed(make_target: TargetFactory) -> None:
    target = make_target()
    spec = make_spec("python", PY_ECHO, memory_mb=128)
    target.apply(spec, lambda _: None)
    pid = worker_pid(target, spec.key)
    up = upstream(target, spec.key)
    with pytest.raises(OSError):  # the connection dies with the worker
        get_upstream(up, f"{up.path_prefix}?alloc=200")
    assert pid is not None
    wait_until(lambda: not pid_alive(pid), what="the killed worker to be gone")

    def reported() -> bool:  # the supervisor logs it once it has seen the exit
        messages = [str(line["message"]) for line in target.logs(spec.key, 100)]
        # the kernel's OOM kill of the sandbox's cgroup, or the RSS poll of a plain worker
        return any("memory limit" in m and "128 MB" in m for m in messages)

    wait_until(reported, what="the memory-limit kill in the function's log")
    wait_until(lambda: target.status(spec.key)["state"] == "ready", what="the restart")


def test_output_is_captured_per_stream(make_target: TargetFactory) -> None:
    target = make_target()
    spec = make_spec("python", PY_ECHO)
    target.apply(spec, lambda _: None)
    assert call(target, spec.key, "?say=hello")[0] == 200

    def captured() -> bool:
        lines = {(x["stream"], x["message"]) for x in target.logs(spec.key, 50)}
        return ("stdout", "to stdout: hello") in lines and ("stderr", "to stderr: hello") in lines

    wait_until(captured, what="both streams in the log")
    log_file = target.layout.log_file(spec.key)
    assert "to stderr: hello" in log_file.read_text()


def test_destroy_stops_workers_and_removes_files(make_target: TargetFactory) -> None:
    target = make_target()
    spec = make_spec("node")
    target.apply(spec, lambda _: None)
    pid = worker_pid(target, spec.key)
    assert pid is not None

    target.destroy(spec.key, lambda _: None)
    assert not pid_alive(pid)
    assert not target.layout.function_dir(spec.key).exists()
    with pytest.raises(FunctionNotFound):
        upstream(target, spec.key)
    with pytest.raises(FunctionNotFound):
        target.logs(spec.key, 10)
    lines: list[str] = []
    target.destroy(spec.key, lines.append)  # idempotent
    assert lines == ["nothing to remove"]
    assert not target.layout.function_dir(spec.key).exists()


def test_go_binaries_are_built_once_per_code(make_target: TargetFactory) -> None:
    target = make_target()
    first, second = make_spec("golang"), make_spec("golang")
    target.apply(first, lambda _: None)
    binaries = list(target.layout.artifacts.glob("*/function"))
    assert len(binaries) == 1
    built_at = binaries[0].stat().st_mtime_ns

    target.apply(second, lambda _: None)
    assert list(target.layout.artifacts.glob("*/function")) == binaries
    assert binaries[0].stat().st_mtime_ns == built_at
    assert call(target, second.key)[0] == 200


def test_unknown_functions_are_not_found(make_target: TargetFactory, tmp_path: Path) -> None:
    target = make_target()
    with pytest.raises(FunctionNotFound):
        upstream(target, "nosuchkey")
    with pytest.raises(FunctionNotFound):
        target.status("nosuchkey")


def digest(spec: FunctionSpec) -> str:
    found = artifact_digest(spec)
    assert found is not None
    return found


def _started_lines(target: LocalTarget, key: str) -> list[str]:
    return [
        str(line["message"])
        for line in target.logs(key, 100)
        if " healthy on " in str(line["message"])
    ]


def _spare_pid(target: LocalTarget) -> int | None:
    spares = target._sup.spares.get("python")
    return spares.pid() if spares is not None else None


def test_python_starts_use_the_pre_started_worker(make_target: TargetFactory) -> None:
    target = make_target()
    first = make_spec("python", PY_ECHO)
    target.apply(first, lambda _: None)
    assert "(pre-started)" not in _started_lines(target, first.key)[0]
    wait_until(lambda: _spare_pid(target) is not None, what="a spare")

    second = make_spec("python", PY_ECHO, env={"ECHO_VERSION": "from-env"})
    target.apply(second, lambda _: None)
    assert "(pre-started)" in _started_lines(target, second.key)[0]
    status, body = call(target, second.key, "/p?q=1")
    assert status == 200
    echo = json.loads(body)
    assert (echo["version"], echo["path"], echo["query"]) == ("from-env", "/p", "q=1")
    wait_until(lambda: _spare_pid(target) is not None, what="the next spare")

    third = make_spec("python", PY_ECHO, env={"PYTHONHASHSEED": "0"})
    target.apply(third, lambda _: None)
    assert "(pre-started)" not in _started_lines(target, third.key)[0]


def test_recover_kills_spares_left_by_a_dead_control_plane(make_target: TargetFactory) -> None:
    dead = make_target()
    dead.apply(make_spec("python"), lambda _: None)
    wait_until(lambda: _spare_pid(dead) is not None, what="a spare")
    orphan = _spare_pid(dead)
    assert orphan is not None

    fresh = make_target(prewarm_workers=False)
    lines: list[str] = []
    fresh.recover(lines.append)
    assert any(line.startswith("killed orphan worker") and "_spare" in line for line in lines)
    wait_until(lambda: not pid_alive(orphan), what="the orphan spare to die")


PY_CLOCK = """\
import time

def handler(event, context):
    return {"zone": time.strftime("%Z"), "offset_s": time.localtime().tm_gmtoff}
"""


def test_a_pre_started_worker_uses_the_functions_time_zone(make_target: TargetFactory) -> None:
    target = make_target()
    warm = make_spec("python", PY_CLOCK)
    target.apply(warm, lambda _: None)  # spawned (no spare yet); fills the pool
    wait_until(lambda: _spare_pid(target) is not None, what="a spare")

    seoul = make_spec("python", PY_CLOCK, env={"TZ": "Asia/Seoul"})
    target.apply(seoul, lambda _: None)
    assert "(pre-started)" in _started_lines(target, seoul.key)[0]
    status, body = call(target, seoul.key)
    assert status == 200
    assert json.loads(body) == {"zone": "KST", "offset_s": 9 * 3600}


GO_OTHER = default_code("golang").replace("Hello from lambdaclone (go)!", "Another Go function")


def _binaries(target: LocalTarget) -> set[str]:
    return {path.parent.name for path in target.layout.artifacts.glob("*/function")}


def test_go_binaries_are_removed_once_no_function_uses_them(make_target: TargetFactory) -> None:
    target = make_target()
    only = make_spec("golang", GO_OTHER)
    shared_a, shared_b = make_spec("golang"), make_spec("golang")
    for spec in (only, shared_a, shared_b):
        target.apply(spec, lambda _: None)
    own, shared = digest(only), digest(shared_a)
    assert _binaries(target) == {own, shared}

    lines: list[str] = []
    target.destroy(only.key, lines.append)  # the only user of its binary
    assert _binaries(target) == {shared}
    assert f"removed the unused build {own[:12]}" in lines
    assert not (target.layout.artifacts / LOCKS / own).exists()

    target.destroy(shared_a.key, lambda _: None)  # shared_b still uses it
    assert _binaries(target) == {shared}
    assert call(target, shared_b.key)[0] == 200

    updated = make_spec("golang", GO_OTHER, key=shared_b.key)
    target.apply(updated, lambda _: None)  # the update leaves the shared binary unused
    assert _binaries(target) == {own}
    target.destroy(updated.key, lambda _: None)
    assert _binaries(target) == set()


def test_recover_removes_go_binaries_no_function_uses(make_target: TargetFactory) -> None:
    dead = make_target()
    kept, dropped = make_spec("golang"), make_spec("golang", GO_OTHER)
    dead.apply(kept, lambda _: None)
    dead.apply(dropped, lambda _: None)
    dead.close()
    shutil.rmtree(dead.layout.function_dir(dropped.key))  # deleted while the plane was down

    fresh = make_target()
    lines: list[str] = []
    fresh.recover(lines.append)
    assert _binaries(fresh) == {digest(kept)}
    assert f"removed the unused build {digest(dropped)[:12]}" in lines
    assert call(fresh, kept.key)[0] == 200
