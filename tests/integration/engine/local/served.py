"""A real `lambdaclone serve` process with the local target, driven over HTTP, crashed on purpose
(SIGKILL of the Python process alone, as a crash would), and what its workers left on the
machine: marked processes and cgroups (`engine.local.orphans`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from engine.local.cgroups import CGROUP_ROOT, own_paths
from engine.local.orphans import instance_of, marked_processes
from engine.net import free_port
from engine.settings import Settings
from engine.tools import REPO_ROOT
from tests.fixtures.api import AUTH

START_TIMEOUT_S = 90.0
_INHERITED_SETTINGS = ("LAMBDACLONE_MONGODB_URI", "LAMBDACLONE_DATABASE", "LAMBDACLONE_PORT")
_NOT_INHERITED = (*_INHERITED_SETTINGS, "PYTHONDONTWRITEBYTECODE")
PYCACHE = Path(tempfile.gettempdir()) / f"lambdaclone-serve-pycache-{os.getuid()}"
"""The control plane's bytecode, kept between starts (outside the working tree): a test that
restarts `serve` fifty times must not compile the whole app fifty times."""


class Served:
    """One `lambdaclone serve` on `data_dir`; `settings` are LAMBDACLONE_* values."""

    def __init__(
        self,
        data_dir: Path,
        settings: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        environ |= {"LAMBDACLONE_DATA_DIR": str(data_dir), "LAMBDACLONE_PORT": str(self.port)}
        environ |= {"PYTHONPYCACHEPREFIX": str(PYCACHE)}
        environ |= {f"LAMBDACLONE_{k.upper()}": v for k, v in (settings or {}).items()}
        environ |= env or {}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve"],
                cwd=REPO_ROOT,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # idle connections are dropped before the server's keep-alive (5 s) closes them: a
        # request on a connection the server is closing would be reset
        limits = httpx.Limits(keepalive_expiry=2.0)
        self.http = httpx.Client(base_url=self.url, headers=AUTH, timeout=30, limits=limits)

    def wait_serving(self) -> Served:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.proc.poll() is None, f"serve exited:\n{self.output()}"
            try:
                if self.http.get("/lambda/runtimes").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not come up:\n{self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def kill(self) -> None:
        """SIGKILL of the control plane's own process (its workers are not signalled)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.http.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.http.close()

    # --- the API -------------------------------------------------------------------------
    def create(self, code: str, runtime: str, **fields: Any) -> dict[str, Any]:
        version = {"python": "3.12", "node": "20", "golang": "1.22"}[runtime]
        body = {"name": f"fn-{runtime}", "file": code, "runtime": runtime, "version": version}
        answer = self.http.post("/lambda", json=body | fields)
        assert answer.status_code == 202, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def update(self, key: str, **fields: Any) -> dict[str, Any]:
        answer = self.http.patch("/lambda", json={"key": key, **fields})
        assert answer.status_code == 202, answer.text
        updated: dict[str, Any] = answer.json()
        return updated

    def delete(self, key: str) -> dict[str, Any]:
        answer = self.http.delete("/lambda", params={"key": key})
        assert answer.status_code in (200, 202), answer.text
        deleted: dict[str, Any] = answer.json()
        return deleted

    def function(self, key: str) -> httpx.Response:
        return self.http.get("/lambda", params={"key": key})

    def operations(self, key: str) -> list[dict[str, Any]]:
        answer = self.http.get("/lambda/operations", params={"key": key, "limit": 100})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def operation(self, operation_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/lambda/operations/{operation_id}")
        assert answer.status_code == 200, answer.text
        op: dict[str, Any] = answer.json()
        return op

    def wait_operation(self, operation_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            op = self.operation(operation_id)
            if op["state"] in {"succeeded", "failed"}:
                return op
            assert time.monotonic() < deadline, f"operation stuck: {op}"
            time.sleep(0.05)

    def invoke(self, key: str, query: str = "") -> httpx.Response:
        return self.http.get(f"/endpoint/{key}{query}")

    def logs(self, key: str) -> list[str]:
        answer = self.http.get("/lambda/logs", params={"key": key, "limit": 1000})
        assert answer.status_code == 200, answer.text
        return [str(line["message"]) for line in answer.json()["lines"]]


def workers_of(data_dir: Path) -> dict[str, set[str]]:
    """key → ids of the worker processes (marked) of this data dir now running. A spare
    keeps its `_spare` mark once a function takes it; its cgroup then has the function's key."""
    by_cgroup = {w: k for k, _, w in (n.rpartition(".") for n in cgroups_of(data_dir))}
    found: dict[str, set[str]] = {}
    for process in marked_processes(instance_of(data_dir)):
        key = by_cgroup.get(process.mark.worker, process.mark.key)
        found.setdefault(key, set()).add(process.mark.worker)
    return found


def cgroups_of(data_dir: Path, settings: Settings | None = None) -> list[str]:
    """The cgroup directories (pids controller) of this data dir's workers."""
    base = (settings or Settings()).sandbox_cgroup
    own = own_paths(Path("/proc/self/cgroup").read_text())["pids"].lstrip("/")
    root = CGROUP_ROOT / "pids" / own / base / instance_of(data_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def uid_processes(first: int, count: int) -> Iterator[tuple[int, int]]:
    """(pid, uid) of every process running as a uid of the sandbox range."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                if first <= uid < first + count:
                    yield int(entry.name), uid
                break
