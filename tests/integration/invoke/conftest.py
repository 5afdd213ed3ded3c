"""A real uvicorn (uvloop, httptools, configured as bench/invoke.py measures it) serving the invoke
router over a LocalTarget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import uvicorn
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import invoke
from bench.invoke import uvicorn_config
from engine.local.target import LocalTarget
from runtimes.harness import free_port
from tests.integration.local.localkit import TargetFactory, make_target

__all__ = ["InvokeServer", "make_target", "serve"]


@dataclass(frozen=True)
class InvokeServer:
    host: str
    port: int
    target: LocalTarget
    app: FastAPI

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def build_app(target: LocalTarget) -> FastAPI:
    """The invoke router on a minimal app with the platform's real error handlers."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(invoke.router)
    app.state.platform = SimpleNamespace(settings=target.settings, target=target)
    return app


@pytest.fixture
def serve(make_target: TargetFactory) -> Iterator[Callable[..., InvokeServer]]:
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def factory(**settings: object) -> InvokeServer:
        target = make_target(**settings)
        app = build_app(target)
        port = free_port()
        server = uvicorn.Server(uvicorn_config(app, port))
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return InvokeServer("127.0.0.1", port, target, app)

    yield factory
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=15)
