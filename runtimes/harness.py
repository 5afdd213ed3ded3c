"""Start a real runtime wrapper process and talk HTTP to it.

Shared by the runtime tests and the benches (it lives in the package, not under tests/, so both
import it the same way). Workers are started exactly as the local target will start them: argv
and environment come from `runtimes.launch`, and Go code is compiled from `go_build_plan`. Not
used by the platform itself.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtimes import launch

HEALTH = "/__lambdaclone/health"


def default_code(runtime: str) -> str:
    """The catalog's default code for a runtime, as shipped in runtimes/<lang>/default/."""
    ext = {"golang": "go", "node": "mjs", "python": "py"}[runtime]
    return (launch.RUNTIMES_DIR / runtime / "default" / f"handler.{ext}").read_text()


def assert_invocation_logged(worker: Worker, request_id: str, memory_mb: int = 256) -> None:
    """START/END/REPORT lines for the request, REPORT in Lambda's exact layout."""
    out = worker.wait_output(f"REPORT RequestId: {request_id}")
    assert re.search(rf"^START RequestId: {request_id}( |$)", out, re.MULTILINE), out
    assert f"END RequestId: {request_id}\n" in out, out
    report = (
        rf"^REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms"
        rf"\tMemory Size: {memory_mb} MB\tMax Memory Used: \d+ MB$"
    )
    assert re.search(report, out, re.MULTILINE), out


def assert_load_failure(worker: Worker, message: str) -> None:
    """The handler did not load: health and every invocation answer the same 500
    HandlerLoadError (its message containing `message`), and stderr says so."""
    health = worker.get(HEALTH)
    assert health.status == 500
    assert health.json()["errorType"] == "HandlerLoadError"
    assert message in health.json()["errorMessage"]
    invoked = worker.get("/anything")
    assert (invoked.status, invoked.json()) == (500, health.json())
    assert "HandlerLoadError" in worker.stderr()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Worker:
    """A running wrapper process with one keep-alive connection to it."""

    process: subprocess.Popen[bytes]
    port: int
    log_dir: Path
    conn: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        raw = body.encode() if isinstance(body, str) else body
        self.conn.request(method, path, body=raw, headers=headers or {})
        response = self.conn.getresponse()
        return Reply(response.status, response.headers, response.read())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def stdout(self) -> str:
        return (self.log_dir / "stdout.log").read_text()

    def stderr(self) -> str:
        return (self.log_dir / "stderr.log").read_text()

    def wait_output(self, text: str, stream: str = "stdout", timeout: float = 3.0) -> str:
        """The stream's content once it contains `text` (log lines may trail the reply)."""
        deadline = time.monotonic() + timeout
        while True:
            content = self.stdout() if stream == "stdout" else self.stderr()
            if text in content or time.monotonic() > deadline:
                return content
            time.sleep(0.01)

    def wait_healthy(self, timeout: float = 20.0) -> Reply:
        """Poll health until the wrapper answers (200, or 500 once a load failure is known)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited {self.process.returncode}: {self.stderr()}")
            try:
                reply = self.get(HEALTH)
            except OSError:
                self.conn.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            return reply

    def stop(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


Serve = Callable[..., Worker]
"""The `serve` fixture: serve(runtime, {filename: source}, handler=, prefix=, convention=)."""

ServeEcho = Callable[[str], Worker]
"""The `serve_echo` fixture: serve_echo(runtime) runs a Lambda handler echoing its event."""


def go_cache() -> Path:
    """The developer's Go build cache, so tests do not recompile the standard library."""
    out = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def build_go(
    code_dir: Path | None, build_dir: Path, handler: str
) -> subprocess.CompletedProcess[str]:
    """Carry out launch.go_build_plan: place the files, then run the compiler."""
    plan = launch.go_build_plan(
        code_dir,
        launch.go_binary(build_dir),
        src_dir=build_dir / "src",
        gocache=go_cache(),
        handler=handler,
    )
    plan.cwd.mkdir(parents=True, exist_ok=True)
    for planned in plan.files:
        if planned.source is not None:
            shutil.copyfile(planned.source, planned.dest)
        else:
            planned.dest.write_text(planned.content or "")
    env = {**os.environ, **plan.env}
    return subprocess.run(
        list(plan.argv), cwd=plan.cwd, env=env, capture_output=True, text=True, check=False
    )


def start_worker(
    runtime: str,
    code_dir: Path,
    work_dir: Path,
    *,
    handler: str | None = None,
    prefix: str = "",
    convention: str = "auto",
    pycache: Path | None = None,
    extra_env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Worker:
    """Spawn the wrapper for `runtime` serving `code_dir` (Go must be built into work_dir)."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    env.update(
        launch.worker_env(
            port=port,
            code_dir=code_dir,
            handler=handler or launch.default_handler(runtime),
            function_name="test-fn",
            function_key="k3y",
            version=7,
            memory_mb=256,
            timeout_ms=5000,
            path_prefix=prefix,
            convention=convention,
            pycache_dir=pycache,
        )
    )
    argv = command or launch.worker_command(
        runtime, code_dir=code_dir, build_dir=work_dir, python=sys.executable, node="node"
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    with (work_dir / "stdout.log").open("wb") as out, (work_dir / "stderr.log").open("wb") as err:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
    return Worker(process, port, work_dir)
