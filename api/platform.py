"""The composition root: every long-lived part of the control plane, created once in the app's
lifespan, in dependency order, and closed in reverse.

    settings → store → traffic → target → locks → runner → service → invoke proxy

The locks are made here and handed to both the service and the runner, so the API's writes
and the runner's status updates of one function never interleave. If the store is down at
start-up the platform still starts: store-backed routes answer 503 `store_unavailable` while
initialization keeps retrying in the background, and the invoke path (which needs only the
target) keeps working.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from api.proxy import InvokeProxy
from engine.errors import StoreUnavailable
from engine.locks import KeyLocks
from engine.runner import OperationRunner
from engine.service import FunctionService
from engine.settings import Settings
from engine.store import CodeStore, Store
from engine.store.mongo import connect
from engine.target import Target, build_target
from engine.traffic import Traffic

log = logging.getLogger(__name__)
INIT_RETRY_MAX_S = 5.0


@dataclass
class Platform:
    settings: Settings
    store: Store
    target: Target
    runner: OperationRunner
    service: FunctionService
    proxy: InvokeProxy
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once indexes, catalog and recovery are done; store routes answer 503 before."""


async def open_platform(
    stack: AsyncExitStack,
    settings: Settings,
    target: Target | None = None,
    code_store: CodeStore | None = None,
    store: Store | None = None,
) -> Platform:
    """Bring the parts up; `stack` closes them. `target`, `code_store` and `store` replace the
    configured ones (tests)."""
    if store is None:
        uri = settings.mongodb_uri or await _embedded_store(stack, settings)
        code = code_store or _s3(settings)
        store = connect(uri, settings.database, settings.store_timeout_ms, code)
    stack.push_async_callback(store.close)
    traffic = Traffic()
    if target is None:
        target = await asyncio.to_thread(build_target, settings, traffic)
        stack.push_async_callback(asyncio.to_thread, target.close)
    locks = KeyLocks()
    runner = OperationRunner(
        store, target, locks, max_concurrent=settings.max_concurrent_operations
    )
    stack.push_async_callback(runner.close)
    service = FunctionService(
        store,
        target,
        runner,
        locks,
        max_code_bytes=settings.max_code_bytes,
        image_registry=settings.image_registry,
    )
    proxy = InvokeProxy(target, traffic, settings.max_payload_bytes)
    await proxy.start()
    stack.push_async_callback(proxy.close)
    platform = Platform(settings, store, target, runner, service, proxy)
    if not await _initialize(platform):
        task = asyncio.create_task(_keep_initializing(platform), name="store-init")
        stack.push_async_callback(_cancel, task)
    return platform


async def _initialize(platform: Platform) -> bool:
    """Indexes, the catalog (seeded when empty) and recovery; False while the store is down."""
    store = platform.store
    try:
        await store.prepare()
        if await store.catalog.is_empty():
            await platform.service.seed_catalog()
        await platform.service.recover()
    except StoreUnavailable as exc:
        log.warning("store not ready, will retry: %s", exc)
        return False
    platform.ready.set()
    return True


async def _keep_initializing(platform: Platform) -> None:
    delay = 0.2
    while not await _initialize(platform):
        await asyncio.sleep(delay)
        delay = min(delay * 2, INIT_RETRY_MAX_S)
    log.info("store ready")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _embedded_store(stack: AsyncExitStack, settings: Settings) -> str:
    """Start the embedded FerretDB (a blocking process start, so off the loop)."""
    from engine.embedded import start_ferretdb  # noqa: PLC0415 - only without a MongoDB URI

    manager: AbstractContextManager[str] = start_ferretdb(settings)
    uri = await asyncio.to_thread(manager.__enter__)
    stack.push_async_callback(asyncio.to_thread, _exit, manager)
    return uri


def _exit(manager: AbstractContextManager[Any]) -> None:
    manager.__exit__(None, None, None)


def _s3(settings: Settings) -> CodeStore | None:
    """The S3 code store when configured; None lets the store default to MongoDB."""
    if settings.code_store != "s3":
        return None
    import boto3  # noqa: PLC0415 - boto3 is slow to import and only needed for S3

    from engine.store.s3 import S3CodeStore  # noqa: PLC0415

    client = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
    )
    return S3CodeStore(client, settings.s3_bucket)
