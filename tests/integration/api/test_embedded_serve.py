"""`lambdaclone serve` with the embedded store, crashed on purpose: real control-plane processes,
real FerretDB servers, real HTTP. The store comes back by itself after a kill -9, never outlives
its control plane, and never has two servers on its files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.embedded import StoreLayout
from engine.embedded.strays import find_strays
from engine.net import free_port
from engine.tools import REPO_ROOT
from tests.fixtures.api import AUTH
from tests.integration.engine.store.processes import REQUIRED_RECOVERY_S, exits

START_TIMEOUT_S = 60.0


class Serve:
    """One `lambdaclone serve` process on `data_dir`, its store embedded."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if k not in _STORE_SETTINGS}
        env |= {
            "LAMBDACLONE_DATA_DIR": str(data_dir),
            "LAMBDACLONE_PORT": self.url.split(":")[-1],
            "LAMBDACLONE_PREWARM_WORKERS": "false",  # no spare workers: only the store matters
        }
        self._output: str | None = None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def store(self) -> StoreLayout:
        return StoreLayout.at(self.data_dir / "ferretdb")

    def status(self) -> int | None:
        """The status of a store-backed route, None when nothing answers."""
        try:
            return httpx.get(f"{self.url}/lambda/runtimes", headers=AUTH, timeout=10).status_code
        except httpx.TransportError:
            return None

    def wait_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.status() != 200:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, "the control plane did not come up"
            time.sleep(0.05)

    def output(self) -> str:
        """Everything it printed (it is killed first if still running)."""
        if self._output is None:
            if self.proc.poll() is None:
                self.proc.kill()
            self._output = self.proc.communicate()[0]
        return self._output

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.output()


_STORE_SETTINGS = ("LAMBDACLONE_MONGODB_URI", "LAMBDACLONE_DATABASE", "LAMBDACLONE_PORT")


@pytest.fixture
def serves(tmp_path: Path) -> Iterator[list[Serve]]:
    """Control planes a test starts on one data dir; stopped afterwards."""
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.stop()
    assert find_strays(StoreLayout.at(tmp_path / "data" / "ferretdb")) == []


def start(serves: list[Serve], tmp_path: Path) -> Serve:
    serve = Serve(tmp_path / "data")
    serves.append(serve)
    return serve


def one_store_of(serve: Serve) -> int:
    """The pid of the one FerretDB on `serve`'s files, which must be its child."""
    [pid] = find_strays(serve.store)
    assert _parent(pid) == serve.proc.pid
    return pid


def test_kill_9_of_the_store_the_api_answers_again_by_itself(
    serves: list[Serve], tmp_path: Path
) -> None:
    serve = start(serves, tmp_path)
    serve.wait_serving()
    took, seen = [], set()
    for _ in range(3):
        killed = one_store_of(serve)
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        while (status := serve.status()) != 200:
            seen.add(status)
            assert time.monotonic() - started < REQUIRED_RECOVERY_S, f"still {status}"
            time.sleep(0.01)
        took.append(time.monotonic() - started)
        assert took[-1] < REQUIRED_RECOVERY_S, f"answered again only after {took[-1]:.1f} s"
        assert one_store_of(serve) != killed
    assert seen <= {503}, "while the store is down, store routes answer 503 (or wait for it)"
    print(f"\nAPI answers 200 again after kill -9 of the store in: {_seconds(took)}")


def test_sigkill_of_serve_leaves_no_store_running(serves: list[Serve], tmp_path: Path) -> None:
    serve = start(serves, tmp_path)
    serve.wait_serving()
    store = os.pidfd_open(one_store_of(serve))
    try:
        serve.proc.kill()
        started = time.monotonic()
        assert exits(store, timeout_s=30), "the store outlived its control plane"
    finally:
        os.close(store)
    print(f"\nstore gone {time.monotonic() - started:.2f} s after SIGKILL of serve")
    assert find_strays(serve.store) == []


def test_a_second_serve_on_the_same_data_dir_refuses_clearly(
    serves: list[Serve], tmp_path: Path
) -> None:
    first = start(serves, tmp_path)
    first.wait_serving()
    second = start(serves, tmp_path)
    assert second.proc.wait(timeout=START_TIMEOUT_S) != 0
    out = second.output()
    assert f"is in use by another control plane (pid {first.proc.pid})" in out, out
    assert first.status() == 200
    one_store_of(first)


def test_a_restart_after_a_crash_starts_exactly_one_store(
    serves: list[Serve], tmp_path: Path
) -> None:
    crashed = start(serves, tmp_path)
    crashed.wait_serving()
    old_store = os.pidfd_open(one_store_of(crashed))
    try:
        crashed.proc.kill()
        restarted = start(serves, tmp_path)  # at once: the old store may still be stopping
        restarted.wait_serving()
        one_store_of(restarted)
        assert exits(old_store, timeout_s=0)
    finally:
        os.close(old_store)


def _parent(pid: int) -> int:
    """The parent pid from /proc/<pid>/stat (the field after the parenthesised name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values)
