"""SIGKILL of a real `lambdaclone serve` at many points of creates, updates and deletes (after a
delay from the 202 spread over the operation's duration, or the instant its operation starts a
worker), then a restart on the same data dir and store. Once the new control plane answers, no
worker or cgroup of the dead one is left (found by marker and cgroup, not by pid file: a worker
spawned an instant before the crash included); then every operation reaches a terminal state,
no accepted function is lost and each one serves its latest version. Prints the figures.

One data dir and one store serve every kill point: each restart recovers what the previous
crash left on top of everything before it, as a real machine would.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.engine.local.served import Served, cgroups_of, workers_of

pytestmark = [pytest.mark.timeout(1200), pytest.mark.long]
KILLS = 54
DELAYS_MS = (0, 3, 6, 10, 15, 20, 25, 30, 40, 50, 65, 80, 100, 130, 170, 220, 300, 450)
"""Delays after the 202: a create or update takes ~30-300 ms here (a pre-started worker, or a
fresh interpreter), a delete ~10-50 ms; the longest ones kill a control plane that is idle
again, with workers and a spare running."""
KINDS = ("create", "update", "delete", "update", "create", "update")
CODE = """
import os

def handler(event, context):
    return {"version": os.environ.get("VERSION")}
"""
SETTLE_S = 90.0
SWEEP_EVERY = 9
TERMINAL = {"succeeded", "failed"}


@dataclass
class Ledger:
    """What the test asked for and what it found, kill by kill."""

    versions: dict[str, str] = field(default_factory=dict)
    """Live functions → the version their last accepted change asked for."""
    deleted: set[str] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)
    points: Counter[str] = field(default_factory=Counter)
    op_at_kill: Counter[str] = field(default_factory=Counter)
    left_by_crash: int = 0
    cgroups_left_by_crash: int = 0
    killed_lines: int = 0
    orphans_after_restart: int = 0
    stuck: int = 0
    lost: list[str] = field(default_factory=list)
    """Accepted creates or changes missing from the store (or an older version there)."""
    not_serving: list[str] = field(default_factory=list)
    """Functions whose endpoint does not answer with the version the store has."""
    recovery_s: list[float] = field(default_factory=list)
    failed_ops: list[str] = field(default_factory=list)


def _accepted(plane: Served, kind: str, ledger: Ledger, step: int) -> tuple[str, str]:
    """Send one change; returns (key, operation id) once the 202 is received."""
    version = str(step)
    if kind == "create" or not ledger.versions:
        answer = plane.create(CODE, "python", env={"VERSION": version})
        key = answer["function"]["key"]
        ledger.versions[key], kind = version, "create"
    elif kind == "update":
        key = sorted(ledger.versions)[step % len(ledger.versions)]
        answer = plane.update(key, env={"VERSION": version})
        ledger.versions[key] = version
    else:
        key = sorted(ledger.versions)[step % len(ledger.versions)]
        answer = plane.delete(key)
        del ledger.versions[key]
        ledger.deleted.add(key)
    ledger.kinds[kind] += 1
    op_id: str = answer["operation"]["id"]
    return key, op_id


def _kill_at(plane: Served, op_id: str, step: int, ledger: Ledger) -> None:
    """Every third kill the instant the operation says it starts a worker (the worker is being
    spawned: no record of it exists yet); the others after a delay from the 202."""
    if step % 3 == 2:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            op = plane.operation(op_id)
            lines = " ".join(str(p["message"]) for p in op.get("progress", []))
            if "starting a worker" in lines or op["state"] in TERMINAL:
                break
            time.sleep(0.005)
        ledger.points["as a worker starts"] += 1
    else:
        delayed = sum(n for point, n in ledger.points.items() if point.endswith(" ms"))
        delay = DELAYS_MS[delayed % len(DELAYS_MS)]
        time.sleep(delay / 1000)
        ledger.points[f"{delay} ms"] += 1
    plane.kill()


def _restart(data_dir: Path, settings: dict[str, str], ledger: Ledger) -> tuple[Served, float]:
    """What the crash left, then a new control plane: by the time it answers, it has killed
    every worker and cgroup of the dead one."""
    left = workers_of(data_dir)
    killed = set().union(*left.values()) if left else set()
    ledger.left_by_crash += len(killed)
    ledger.cgroups_left_by_crash += len(cgroups_of(data_dir))
    started = time.monotonic()
    plane = Served(data_dir, settings).wait_serving()
    survivors = {w for ws in workers_of(data_dir).values() for w in ws} & killed
    survivors |= {n for n in cgroups_of(data_dir) if n.rpartition(".")[2] in killed}
    ledger.orphans_after_restart += len(survivors)
    assert not survivors, f"the dead control plane's workers still run: {survivors}"
    return plane, started


def _settle(plane: Served, ledger: Ledger, op_id: str, started: float, invoke: list[str]) -> None:
    """After a restart: operations finish, functions keep their version and those in `invoke`
    serve it, nothing extra runs. Earlier steps left every operation terminal, so only this
    step's can be pending (and any a restart's reconcile started: one pass over all keys)."""
    deadline = time.monotonic() + SETTLE_S
    while (op := plane.operation(op_id))["state"] not in TERMINAL:
        if time.monotonic() > deadline:
            ledger.stuck += 1
            break
        time.sleep(0.02)
    for key in [*ledger.versions, *ledger.deleted]:
        while any(o["state"] not in TERMINAL for o in plane.operations(key)):
            if time.monotonic() > deadline:
                ledger.stuck += 1
                break
            time.sleep(0.05)
    ledger.recovery_s.append(time.monotonic() - started)
    resumed = [str(p["message"]) for p in op["progress"] if "resumed after" in str(p["message"])]
    ledger.op_at_kill[resumed[0].rpartition("was ")[2].rstrip(")") if resumed else "done"] += 1
    for key, version in ledger.versions.items():
        record = plane.function(key)
        if record.status_code != 200 or record.json()["env"].get("VERSION") != version:
            ledger.lost.append(f"{key}: {record.status_code} {record.text[:200]}")
    _check_serving(plane, ledger, invoke)
    _wait_for_drains(plane.data_dir, ledger)


def _check_serving(plane: Served, ledger: Ledger, keys: list[str]) -> None:
    """Each live key of `keys` answers with its latest version; deleted ones are gone."""
    for key in keys:
        if key in ledger.deleted:
            assert plane.invoke(key).status_code == 404
            continue
        answer = plane.invoke(key)
        if answer.status_code != 200 or answer.json() != {"version": ledger.versions[key]}:
            want = ledger.versions[key]
            ledger.not_serving.append(f"{key} wants {want}: {answer.status_code} {answer.text}")


def _failed_operations(plane: Served, ledger: Ledger) -> None:
    for key in [*ledger.versions, *ledger.deleted]:
        ledger.failed_ops += [
            f"{o['kind']} {key}: {o['error']}"
            for o in plane.operations(key)
            if o["state"] == "failed" and "cancelled" not in str(o["error"])
        ]


def _wait_for_drains(data_dir: Path, ledger: Ledger) -> None:
    """Replaced workers stop once drained: then at most one worker per live function, none
    for a deleted one, at most one spare, and a cgroup for exactly the running workers."""
    deadline = time.monotonic() + 15
    while True:
        running = workers_of(data_dir)
        extra = {k: w for k, w in running.items() if k != "_spare" and k not in ledger.versions}
        doubled = {k: w for k, w in running.items() if len(w) > 1}
        wids = set().union(*running.values()) if running else set()
        groups = {name.rpartition(".")[2] for name in cgroups_of(data_dir)}
        if not extra and not doubled and groups <= wids:
            return
        assert time.monotonic() < deadline, f"extra {extra}, doubled {doubled}, {groups - wids}"
        time.sleep(0.05)


def test_sigkill_at_many_points_leaves_no_orphan_no_stuck_operation_no_lost_function(
    tmp_path: Path, mongo_uri: str, mongo_db_name: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = {"mongodb_uri": mongo_uri, "database": mongo_db_name}
    ledger = Ledger()
    began = time.monotonic()
    plane = Served(data_dir, settings).wait_serving()
    try:
        for step in range(KILLS):
            key, op_id = _accepted(plane, KINDS[step % len(KINDS)], ledger, step)
            _kill_at(plane, op_id, step, ledger)
            plane, started = _restart(data_dir, settings, ledger)
            # every function now and then (their workers are the next crash's orphans);
            # otherwise the one this step changed: each invoke is a cold start
            sweep = step % SWEEP_EVERY == SWEEP_EVERY - 1 or step == KILLS - 1
            _settle(plane, ledger, op_id, started, [*ledger.versions] if sweep else [key])
        _failed_operations(plane, ledger)
    finally:
        logs = (log.read_text(errors="replace") for log in tmp_path.glob("serve-*.log"))
        ledger.killed_lines = sum(text.count("crash recovery: killed orphan") for text in logs)
        _print(ledger, time.monotonic() - began)
        plane.stop()
    assert workers_of(data_dir) == {}, "workers outlived a graceful stop"
    assert cgroups_of(data_dir) == []
    assert (ledger.stuck, ledger.orphans_after_restart) == (0, 0)
    assert (ledger.lost, ledger.not_serving, ledger.failed_ops) == ([], [], [])
    assert sum(ledger.kinds.values()) >= 50 and min(ledger.kinds.values()) >= 9
    assert ledger.left_by_crash > 0  # the kills did leave workers for the restarts to find


def _print(ledger: Ledger, total_s: float) -> None:
    recovery = sorted(ledger.recovery_s) or [0.0]
    rows = (
        ("workers and spares left running by the kills (summed)", ledger.left_by_crash),
        ("their cgroups left by the kills (summed)", ledger.cgroups_left_by_crash),
        ("'killed orphan worker' lines logged by the restarts", ledger.killed_lines),
        ("orphans (processes or cgroups) once the restart answered", ledger.orphans_after_restart),
        ("operations left unfinished", ledger.stuck),
        ("accepted functions lost (or an older version stored)", len(ledger.lost)),
        ("functions not serving their stored version", len(ledger.not_serving)),
        ("operations failed", len(ledger.failed_ops)),
        (
            "recovery (restart → all operations terminal) p50 s",
            f"{recovery[len(recovery) // 2]:.2f}",
        ),
        ("recovery max s", f"{recovery[-1]:.2f}"),
        ("whole test s", f"{total_s:.0f}"),
    )
    print(f"\nSIGKILL of `lambdaclone serve`, {sum(ledger.kinds.values())} kills")
    print(f"  by change:           {dict(ledger.kinds)}")
    print(f"  by kill point:       {dict(ledger.points)}")
    print(f"  operation at kill:   {dict(ledger.op_at_kill)}")
    for label, value in rows:
        print(f"  {label:<62} {value}")
    for problem in [*ledger.lost, *ledger.not_serving, *ledger.failed_ops]:
        print(f"  ! {problem}")
