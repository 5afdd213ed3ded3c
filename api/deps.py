"""What routes get injected: the running `Platform` and the function service over it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.service import FunctionService
from engine.errors import StoreUnavailable
from engine.operations import OperationRunner
from engine.settings import Settings
from engine.store import Store
from engine.target import Target


@dataclass
class Platform:
    """The control plane's long-lived parts, created by the app's lifespan."""

    settings: Settings
    store: Store
    target: Target
    runner: OperationRunner
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once indexes, catalog and recovery are done; store routes answer 503 before."""


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_ready_platform(platform: PlatformDep) -> Platform:
    if not platform.ready.is_set():
        raise StoreUnavailable(
            "the store is not reachable yet; the control plane keeps retrying",
            detail={"action": "start-up"},
        )
    return platform


ReadyPlatformDep = Annotated[Platform, Depends(get_ready_platform)]


def get_service(platform: ReadyPlatformDep) -> FunctionService:
    return FunctionService(platform.settings, platform.store, platform.runner)


ServiceDep = Annotated[FunctionService, Depends(get_service)]
