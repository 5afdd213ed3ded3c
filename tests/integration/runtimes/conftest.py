"""Fixtures for the runtime wrapper tests: real wrapper processes on free loopback ports."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtimes.contract import BOOTSTRAP_ENV
from runtimes.golang.driver import binary
from runtimes.registry import driver
from tests.fixtures.wrapper_harness import (
    Serve,
    ServeEcho,
    Worker,
    build_go,
    pinned_toolchain,
    start_worker,
)

# A Lambda-convention handler (`app.handler`) answering with the event it got, as JSON.
ECHO_EVENT = {
    "python": (
        "app.py",
        """
        def handler(event, context):
            return {"statusCode": 200, "body": __import__("json").dumps(event)}
        """,
    ),
    "node": (
        "app.mjs",
        "export const handler = async (event) =>"
        " ({ statusCode: 200, body: JSON.stringify(event) });\n",
    ),
}


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bytecode cache for the session, so only the first Python worker compiles Flask."""
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def serve(tmp_path: Path, pycache: Path) -> Iterator[Serve]:
    """serve(runtime, {filename: source}, handler=..., prefix=..., convention=...) -> Worker.

    Writes the files (dedented) into a fresh code dir, builds Go code, starts the wrapper and
    waits until health answers. Every worker is stopped at teardown.
    """
    workers: list[Worker] = []

    def start(
        runtime: str,
        files: dict[str, str],
        handler: str | None = None,
        prefix: str = "",
        convention: str = "auto",
    ) -> Worker:
        index = len(workers)
        code_dir = tmp_path / f"code{index}"
        work_dir = tmp_path / f"work{index}"
        code_dir.mkdir()
        for name, source in files.items():
            (code_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (code_dir / name).write_text(textwrap.dedent(source).lstrip())
        if runtime == "golang":
            built = build_go(code_dir, work_dir, handler or "handler.handler")
            assert built.returncode == 0, built.stderr
        worker = start_worker(
            runtime,
            code_dir,
            work_dir,
            handler=handler,
            prefix=prefix,
            convention=convention,
            pycache=pycache,
        )
        workers.append(worker)
        worker.wait_healthy()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def serve_echo(serve: Serve) -> ServeEcho:
    """serve_echo(runtime) -> Worker running the ECHO_EVENT handler for `runtime`."""

    def start(runtime: str) -> Worker:
        filename, source = ECHO_EVENT[runtime]
        return serve(runtime, {filename: source}, handler="app.handler")

    return start


@pytest.fixture
def serve_api(tmp_path: Path) -> Iterator[Serve]:
    """serve_api(runtime, {filename: source}) -> Worker: the Runtime API worker
    (runtimes/provided/server.py, on the python toolchain as the local target runs it) serving
    a `provided` bootstrap, or a Go `lambda.Start` program built by the golang driver."""
    workers: list[Worker] = []

    def start(runtime: str, files: dict[str, str], handler: str | None = None) -> Worker:
        index = len(workers)
        code_dir, work_dir = tmp_path / f"api-code{index}", tmp_path / f"api-work{index}"
        code_dir.mkdir()
        for name, source in files.items():
            (code_dir / name).write_text(textwrap.dedent(source).lstrip())
        extra: dict[str, str] = {}
        if runtime == "golang":
            built = build_go(code_dir, work_dir, handler or "handler.handler")
            assert built.returncode == 0, built.stderr
            code = (code_dir / "handler.go").read_text()
            bootstrap = driver("golang").runtime_api_bootstrap(work_dir, code)
            assert bootstrap == binary(work_dir)
            extra[BOOTSTRAP_ENV] = str(bootstrap)
        argv = driver("provided").launch(pinned_toolchain("python"), None)
        worker = start_worker(
            "python", code_dir, work_dir, handler=handler, extra_env=extra, command=argv
        )
        workers.append(worker)
        worker.wait_healthy()
        return worker

    yield start
    for worker in workers:
        worker.stop()
