"""A real uvicorn (uvloop, httptools, configured as bench/invoke.py measures it) serving the invoke
router over a LocalTarget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from api.proxy import InvokeProxy
from engine.local.target import LocalTarget
from engine.target import Upstream
from tests.fixtures.invoke_app import build_app, serving
from tests.fixtures.local_targets import TargetFactory, make_target

__all__ = ["InvokeServer", "make_target", "serve"]


@dataclass(frozen=True)
class InvokeServer:
    host: str
    port: int
    target: LocalTarget
    app: FastAPI
    proxy: InvokeProxy

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def upstream(self, key: str) -> Upstream | None:
        """The function's serving worker, as the proxy sees it."""
        return self.target._sup.ready.get(key)

    def inflight(self, key: str) -> int:
        """Requests the proxy has in flight to the function's serving worker (-1: none)."""
        upstream = self.upstream(key)
        return self.proxy.traffic.inflight(upstream) if upstream is not None else -1


@pytest.fixture
def serve(make_target: TargetFactory) -> Iterator[Callable[..., InvokeServer]]:
    with ExitStack() as stack:

        def factory(**settings: object) -> InvokeServer:
            target = make_target(**settings)
            app, proxy = build_app(target)
            port = stack.enter_context(serving(app))
            return InvokeServer("127.0.0.1", port, target, app, proxy)

        yield factory
