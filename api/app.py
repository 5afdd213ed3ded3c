"""The control plane's FastAPI application: routers, error handlers and the lifespan that
connects the store, builds the target, starts the operation runner and runs recovery.

If MongoDB is down at start-up the app still starts: store-backed routes answer 503
`store_unavailable` and initialization keeps retrying in the background until it succeeds,
while the invoke path (which needs only the target) keeps working.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.deps import Platform
from api.errors import install_error_handlers
from api.guard import WriteGuard
from api.routes import catalog, console, functions, invoke, operations
from engine.catalog import seed_catalog
from engine.codestore import CodeStore, S3CodeStore
from engine.errors import StoreUnavailable
from engine.operations import OperationRunner
from engine.settings import Settings
from engine.store import connect
from engine.target import Target
from engine.targets import build_target

log = logging.getLogger(__name__)
INIT_RETRY_MAX_S = 5.0

DESCRIPTION = """\
A self-hosted, AWS-Lambda-style Function-as-a-Service.

* **Functions** (`/lambda`): create, read, update (with a preview), delete. Changes are
  **operations**: the API answers `202 Accepted` with the function, the operation and a
  `Location` to poll; `?wait=true` answers when the work is done.
* **Invoke** any function at `/endpoint/{key}`.
* Every error has the shape `{"error": {"code", "message", "detail"}}` with a stable `code`.
* Changes (`POST`, `PATCH`, `DELETE /lambda`) are refused when a browser sends them for
  another site (403 `cross_site_request`) or to a host name not in `allowed_hosts`
  (403 `host_not_allowed`); JSON bodies need `Content-Type: application/json`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    target: Target | None = None,
    code_store: CodeStore | None = None,
) -> FastAPI:
    """The application; `target` and `code_store` replace the configured ones (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.platform = await _start(stack, settings, target, code_store)
            yield

    app = FastAPI(
        title="lambdaclone",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "functions", "description": "Functions and their revisions."},
            {"name": "operations", "description": "The work behind a create/update/delete."},
            {"name": "catalog", "description": "Runtimes, versions and default code."},
        ],
    )
    app.state.settings = settings
    app.add_middleware(WriteGuard, allowed_hosts=settings.allowed_host_names)
    install_error_handlers(app)
    # The invoke route first: every request is matched against the routes before it.
    for router in (invoke.router, functions.router, operations.router, catalog.router):
        app.include_router(router)
    app.include_router(console.router)
    return app


async def _start(
    stack: AsyncExitStack,
    settings: Settings,
    target: Target | None,
    code_store: CodeStore | None,
) -> Platform:
    """Bring the parts up in dependency order; the stack closes them in reverse."""
    uri = settings.mongodb_uri or await _embedded_store(stack, settings)
    store = connect(uri, settings.database, settings.store_timeout_ms, code_store or _s3(settings))
    stack.push_async_callback(store.close)
    if target is None:
        target = await asyncio.to_thread(build_target, settings)
        stack.push_async_callback(asyncio.to_thread, target.close)
    runner = OperationRunner(store, target, max_concurrent=settings.max_concurrent_operations)
    stack.push_async_callback(runner.close)
    platform = Platform(settings, store, target, runner)
    if not await _initialize(platform):
        task = asyncio.create_task(_keep_initializing(platform), name="store-init")
        stack.push_async_callback(_cancel, task)
    return platform


async def _initialize(platform: Platform) -> bool:
    """Indexes, the catalog (seeded when empty) and recovery; False while the store is down."""
    store = platform.store
    try:
        if isinstance(store.code, S3CodeStore):
            await store.code.ensure_bucket()
        await store.ensure_indexes()
        if await store.catalog.is_empty():
            await seed_catalog(store.catalog, platform.settings.image_registry)
        await platform.runner.recover()
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

    client = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
    )
    return S3CodeStore(client, settings.s3_bucket)
