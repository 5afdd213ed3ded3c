"""What routes get injected: the running `Platform` (the composition root) and its parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.platform import Platform
from engine.errors import StoreUnavailable
from engine.service import FunctionService


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
    return platform.service


ServiceDep = Annotated[FunctionService, Depends(get_service)]
