"""The composition root: every long-lived part of the control plane, created once in the app's
lifespan, in dependency order, and closed in reverse.

    settings → keyring → store → access → traffic → target → locks → runner → service
    → invoke proxy

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
from engine.access_service import AccessService
from engine.errors import StoreUnavailable
from engine.files import PRIVATE_DIR
from engine.keyring import Keyring, load_master_key
from engine.locks import KeyLocks
from engine.runner import OperationRunner
from engine.service import FunctionService
from engine.settings import Settings
from engine.store import CodeStore, Store
from engine.store.mongo import connect_configured
from engine.target import Target, build_target
from engine.traffic import Traffic

log = logging.getLogger(__name__)
INIT_RETRY_MAX_S = 5.0


@dataclass
class Platform:
    settings: Settings
    store: Store
    access: AccessService
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
    _private_dir(settings)
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    keyring = Keyring(await asyncio.to_thread(load_master_key, secret_key, settings.data_dir))
    if store is None:
        uri = settings.mongodb_uri or await _embedded_store(stack, settings)
        code = code_store or _s3(settings)
        store = connect_configured(settings, uri, code)
    stack.push_async_callback(store.close)
    access = AccessService(
        store,
        keyring,
        session_hours=settings.session_hours,
        failures_per_minute=settings.signin_failures_per_minute,
    )
    access.configure_admin(_configured_admin(settings))
    traffic = Traffic()
    if target is None:
        target = await asyncio.to_thread(build_target, settings, traffic, keyring)
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
        keyring,
        max_code_bytes=settings.max_code_bytes,
        image_registry=settings.image_registry,
    )
    proxy = InvokeProxy(target, traffic, access, settings)
    await proxy.start()
    stack.push_async_callback(proxy.close)
    platform = Platform(settings, store, access, target, runner, service, proxy)
    refresher = asyncio.create_task(access.keep_refreshing(), name="token-refresh")
    stack.push_async_callback(_cancel, refresher)
    if not await _initialize(platform):
        task = asyncio.create_task(_keep_initializing(platform), name="store-init")
        stack.push_async_callback(_cancel, task)
    return platform


async def _initialize(platform: Platform) -> bool:
    """Indexes, the catalog (seeded when empty) and recovery; False while the store is down."""
    store = platform.store
    try:
        await store.prepare()
        await _bootstrap_access(platform)
        if await store.catalog.is_empty():
            await platform.service.seed_catalog()
        await platform.service.recover()
    except StoreUnavailable as exc:
        log.warning("store not ready, will retry: %s", exc)
        return False
    platform.ready.set()
    return True


async def _bootstrap_access(platform: Platform) -> None:
    """The first admin token, and a sign-in link for whoever started this control plane."""
    settings = platform.settings
    configured = _configured_admin(settings)
    secret = await platform.access.bootstrap(configured, settings.data_dir)
    if secret and not configured:
        url = f"{settings.endpoint_base}/console/login#token={secret}"
        log.warning("console sign-in: %s  (the admin token is in %s)", url, _token_file(settings))


def _configured_admin(settings: Settings) -> str | None:
    return settings.admin_token.get_secret_value() if settings.admin_token else None


def _token_file(settings: Settings) -> str:
    return str(settings.data_dir / "admin.token")


def _private_dir(settings: Settings) -> None:
    """The data dir holds the store, keys and tokens: its owner's only."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    settings.data_dir.chmod(PRIVATE_DIR)


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
