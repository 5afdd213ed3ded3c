"""The control plane's FastAPI application: routers, error handlers, the cross-site guard and
the lifespan that opens the platform (api/platform.py, the composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI

from api import original
from api.auth import AllowedByMethod, AuditLog
from api.cors import CorsMiddleware
from api.dataplane.plane import serve_data_plane
from api.errors import install_error_handlers
from api.host_guard import HostGuard
from api.origin_guard import WriteGuard
from api.params import refuse_unknown_query
from api.platform import open_platform
from api.routes import (
    artifacts,
    catalog,
    console,
    functions,
    invoke,
    layers,
    operations,
    swagger,
    tokens,
)
from engine.settings import Settings
from engine.store import CodeStore, Store
from engine.target import Target

log = logging.getLogger(__name__)

DESCRIPTION = """\
A self-hosted, AWS-Lambda-style Function-as-a-Service.

* **Functions** (`/lambda`): create, read, update (with a preview), delete. Changes are
  **operations**: the API answers `202 Accepted` with the function, the operation and a
  `Location` to poll; `?wait=true` answers when the work is done.
* **Invoke** any function at `/endpoint/{key}`.
* Every error has the shape `{"error": {"code", "message", "detail"}}` with a stable `code`.
* Every route needs `Authorization: Bearer <token>` (or a console session): 401
  `unauthenticated`, 403 `forbidden` otherwise. Invoking is public unless the function has
  `auth: token`.
* Requests addressed to a host name not in `allowed_hosts` get 403 `host_not_allowed`; changes a
  browser sends for another site get 403 `cross_site_request`; JSON bodies need
  `Content-Type: application/json`.
* `GET` never changes anything (`GET /lambda/setup` shows what `POST /lambda/setup` would seed).
  Oversized or slow request heads get 431 or 408 from the server itself.
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
            if settings.data_plane == "go":  # it serves the public port (ADR 0052)
                await stack.enter_async_context(serve_data_plane(app.state.platform, settings))
            yield

    app = FastAPI(
        title="lambdaclone",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from vendored assets (api/routes/swagger.py): no CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "functions", "description": "Functions and their revisions."},
            {"name": "operations", "description": "The work behind a create/update/delete."},
            {"name": "catalog", "description": "Runtimes, versions and default code."},
            {"name": "layers", "description": "Versioned shared files under /opt."},
        ],
    )
    app.state.settings = settings
    app.add_middleware(AuditLog)
    app.add_middleware(WriteGuard, origins=settings.cors_origins)
    app.add_middleware(HostGuard, allowed_hosts=settings.allowed_host_names)
    if settings.cors_origins:
        app.add_middleware(CorsMiddleware, origins=frozenset(settings.cors_origins))
    install_error_handlers(app)
    # The invoke route first: every request is matched against the routes before it.
    app.include_router(invoke.router)
    routers = (layers.router, functions.router, operations.router, catalog.router, tokens.router)
    for router in routers:
        app.include_router(router, dependencies=[Depends(refuse_unknown_query)])
    include_original(app, settings)
    app.include_router(artifacts.router)  # its own credential: a function's pull token
    app.include_router(swagger.router)
    app.include_router(console.router)
    return app


def include_original(app: FastAPI, settings: Settings) -> None:
    """The original dialect under /original: `on` asks for tokens like /lambda, `public`
    answers anyone who can reach it (the original console sends no credentials)."""
    if settings.original_api == "off":
        return
    if settings.original_api == "public":
        log.warning(
            "LAMBDACLONE_ORIGINAL_API=public: /original creates, changes and deletes functions "
            "for anyone who can reach this server, without a token"
        )
        app.include_router(original.router)
        return
    access = AllowedByMethod("functions:read", "functions:write")
    app.include_router(original.router, dependencies=[access])
