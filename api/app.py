"""The control plane's FastAPI application: routers, error handlers, the cross-site guard and
the lifespan that opens the platform (api/platform.py, the composition root)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.origin_guard import WriteGuard
from api.platform import open_platform
from api.routes import catalog, console, functions, invoke, operations
from engine.settings import Settings
from engine.store import CodeStore, Store
from engine.target import Target

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
    store: Store | None = None,
) -> FastAPI:
    """The application; `target`, `code_store` and `store` replace the configured ones."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.platform = await open_platform(stack, settings, target, code_store, store)
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
