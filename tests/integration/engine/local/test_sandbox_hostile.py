"""A hostile function, deployed through a real `lambdaclone serve` (embedded store, local
target, sandbox on), tries to reach what it must not and to escape its limits — and gets
nothing: every attempt is denied, a `setsid` grandchild dies with the function, a memory hog is
the function's own error (502 `function_crashed`, "out of memory" in its log), a fork bomb
stops at the pid limit, and the function next to it keeps answering."""

from __future__ import annotations

import secrets
import site
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.embedded import StoreLayout
from engine.local import hostcheck
from engine.local.toolchains import Toolchains
from engine.settings import Settings
from engine.tools import REPO_ROOT
from tests.integration.engine.local.hostile_code import NODE, PYTHON
from tests.integration.engine.local.served import Served, cgroups_of, uid_processes, workers_of

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        hostcheck.check("auto").level != "full",
        reason=f"no sandbox on this machine: {hostcheck.check('auto').reason}",
    ),
]
PIDS_MAX = 64
CATALOG = {"python": "3.12", "node": "20"}
PINNED = {"python": "3.12.1", "node": "20.20.2"}
VICTIM = "def handler(event, context):\n    return {'secret': 'victim-data'}\n"
CANARY = f"canary-{secrets.token_hex(8)}"
SETTINGS = Settings()


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    data_dir.mkdir()
    served = Served(
        data_dir,
        settings={"sandbox": "strict", "sandbox_pids_max": str(PIDS_MAX)},
        env={"LAMBDACLONE_TEST_CANARY": CANARY},
    ).wait_serving()
    yield served
    served.stop()
    assert workers_of(data_dir) == {}, "workers outlived their control plane"
    assert cgroups_of(data_dir) == []


def _deploy(plane: Served, code: str, runtime: str, **fields: object) -> str:
    created = plane.create(code, runtime, memory_mb=128, **fields)
    op = plane.wait_operation(created["operation"]["id"])
    assert op["state"] == "succeeded", op
    key: str = created["function"]["key"]
    return key


def _socket_of(key: str) -> Path:
    """The host path of `key`'s worker socket, from the sandbox's uid leases."""
    for owner in (SETTINGS.sandbox_run_dir / "owners").iterdir():
        if f"/{key}." in owner.read_text():
            return SETTINGS.sandbox_run_dir / owner.name / "http.sock"
    raise AssertionError(f"no running worker of {key}")


def _environment(plane: Served, victim: str) -> dict[str, str]:
    store = StoreLayout.at(plane.data_dir / "ferretdb")
    victim_dir = plane.data_dir / "local" / "functions" / victim
    [victim_code] = victim_dir.glob("spec-*/handler.py")
    return {
        "HOSTILE_DATA_DIR": str(plane.data_dir),
        "HOSTILE_STORE_FILE": str(next((plane.data_dir / "ferretdb").glob("*.sqlite"))),
        "HOSTILE_STORE_SOCKET": str(store.socket),
        "HOSTILE_API_PORT": str(plane.port),
        "HOSTILE_OTHER_CODE": str(victim_code),
        "HOSTILE_OTHER_ACTIVE": str(victim_dir / "active.json"),
        "HOSTILE_OTHER_SOCKET": str(_socket_of(victim)),
        "HOSTILE_CP_PID": str(plane.proc.pid),
        "HOSTILE_CANARY_REVERSED": CANARY[::-1],
        "HOSTILE_SITE_PACKAGES": site.getsitepackages()[0],
        "HOSTILE_REPO": str(REPO_ROOT),
    }


def _reachable_from_the_host(environment: dict[str, str], plane: Served) -> None:
    """What the function is denied exists and is open to the control plane (root): a denial
    is the sandbox's doing, not a wrong path."""
    for name in ("DATA_DIR", "STORE_FILE", "OTHER_CODE", "OTHER_ACTIVE", "SITE_PACKAGES"):
        assert Path(environment[f"HOSTILE_{name}"]).exists(), name
    assert (Path(environment["HOSTILE_SITE_PACKAGES"]) / "pymongo").is_dir()
    for path in (environment["HOSTILE_STORE_SOCKET"], environment["HOSTILE_OTHER_SOCKET"]):
        with socket.socket(socket.AF_UNIX) as unix:
            unix.connect(path)
    socket.create_connection(("127.0.0.1", plane.port), timeout=2).close()
    environ = Path(f"/proc/{plane.proc.pid}/environ").read_bytes()
    assert CANARY.encode() in environ


def _wait(predicate: object, what: object, timeout_s: float = 20.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize(("runtime", "code"), [("python", PYTHON), ("node", NODE)])
def test_a_hostile_function_gets_nothing_and_is_contained(
    plane: Served, runtime: str, code: str
) -> None:
    victim = _deploy(plane, VICTIM, "python", auth="token")
    environment = _environment(plane, victim)
    _reachable_from_the_host(environment, plane)
    # a fork bomb on a busy 2-core machine can take seconds to hit the limit: not a timeout
    hostile = _deploy(plane, code, runtime, env=environment, timeout_ms=30_000)

    answer = plane.invoke(hostile, "?do=runtime")
    assert answer.status_code == 200, answer.text
    ran_on = answer.json()
    tree = Toolchains().installed(runtime, CATALOG[runtime]).root
    print(f"\n{runtime} runs on {ran_on}")
    assert ran_on["version"] == PINNED[runtime]
    assert Path(ran_on["executable"]).is_relative_to(tree), ran_on
    assert [p for p in ran_on["path"] if not Path(p).is_relative_to(tree)] in ([], ["/var/task"])

    probe = plane.invoke(hostile, "?do=probe")
    assert probe.status_code == 200, probe.text
    attempts: dict[str, str] = probe.json()
    print(f"\n{runtime} hostile function, attempt by attempt:")
    for name, outcome in attempts.items():
        print(f"  {name:<30} {outcome}")
    assert len(attempts) >= 14
    assert {n: o for n, o in attempts.items() if not o.startswith("denied")} == {}

    bomb = plane.invoke(hostile, "?do=bomb")
    assert bomb.status_code == 200, bomb.text
    assert 0 < bomb.json()["forked"] < PIDS_MAX
    assert "temporarily unavailable" in bomb.json()["error"] or "EAGAIN" in bomb.json()["error"]

    hog = plane.invoke(hostile, "?do=hog")
    assert hog.status_code == 502, hog.text  # killed: answered as a Function URL does
    assert hog.headers["x-amz-function-error"] == "Unhandled"
    assert hog.json() == {"message": "Internal Server Error"}
    _wait(lambda: any("out of memory" in m for m in plane.logs(hostile)), plane.logs(hostile))
    assert plane.invoke(victim).status_code == 200  # the neighbour never noticed
    assert plane.invoke(hostile, "?do=probe").status_code == 200  # restarted, serving again

    daemon = plane.invoke(hostile, "?do=daemon")
    assert daemon.status_code == 200, daemon.text
    uid = daemon.json()["uid"]
    first, count = SETTINGS.sandbox_uid_first, SETTINGS.sandbox_uid_count
    assert first <= uid < first + count
    assert len([p for p, u in uid_processes(first, count) if u == uid]) >= 3  # tini, worker, daemon
    deleted = plane.delete(hostile)
    assert plane.wait_operation(deleted["operation"]["id"])["state"] == "succeeded"
    assert [p for p, u in uid_processes(first, count) if u == uid] == []
    assert hostile not in workers_of(plane.data_dir)
    assert not [c for c in cgroups_of(plane.data_dir) if c.startswith(f"{hostile}.")]
    assert plane.invoke(victim).status_code == 200
