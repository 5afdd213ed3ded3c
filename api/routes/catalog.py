"""The runtime catalog: the default shape of a new function, the runtimes, and seeding.

Seeding writes, so it is `POST /lambda/setup`; `GET /lambda/setup` (the original system's
route, which wrote) now only tells what a POST would change: a GET never changes anything, so
no link or prefetch can seed behind an operator's back (ADR 0035).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from fastapi import APIRouter

from api.auth import Allowed
from api.catalog_schemas import DefaultOut, RuntimeList, RuntimeOut, SetupOut, SetupPlanOut
from api.deps import ReadyPlatformDep, ServiceDep
from api.routes.docs import error_responses
from engine.catalog import BUILTIN_VERSIONS, DEFAULT_RUNTIME, builtin_catalog
from engine.errors import UnknownRuntime
from engine.spec import Limits, to_data

router = APIRouter(prefix="/lambda", tags=["catalog"])
DEFAULT_LIMITS: dict[str, int] = to_data(Limits())
BUILTIN = ", ".join(f"{runtime} {version}" for runtime, version in BUILTIN_VERSIONS)


@router.get(
    "/default",
    summary="The default shape of a new function",
    description="The default runtime and version with its default code and handler.",
    responses=error_responses(422, 503),
    dependencies=[Allowed("catalog:read")],
)
async def get_default(service: ServiceDep) -> DefaultOut:
    default = (await service.catalog()).default
    if default is None:
        choice = await service.store.catalog.default()
        runtime, version = (choice.runtime, choice.version) if choice else ("", "")
        raise UnknownRuntime(runtime, version)
    return DefaultOut.of(default, DEFAULT_LIMITS)


@router.get(
    "/runtimes",
    summary="Selectable runtimes",
    description="Enabled runtimes and versions, each with its image and default code.",
    responses=error_responses(503),
    dependencies=[Allowed("catalog:read")],
)
async def list_runtimes(platform: ReadyPlatformDep) -> RuntimeList:
    entries = await platform.store.catalog.runtimes()
    return RuntimeList(items=[RuntimeOut.of(e) for e in entries])


@router.post(
    "/setup",
    summary="Seed the catalog",
    description="Creates the `lambda.runtime` and `lambda.default` documents of this release "
    f"({BUILTIN}; default {' '.join(DEFAULT_RUNTIME)}). Idempotent: entries are upserted "
    "by runtime and version, never duplicated; an operator's `disabled` flag is kept. "
    "(The control plane also seeds an empty catalog when it starts.)",
    responses=error_responses(503),
    dependencies=[Allowed("catalog:write")],
)
async def setup(platform: ReadyPlatformDep) -> SetupOut:
    result = await platform.service.seed_catalog()
    entries = await platform.store.catalog.runtimes(include_disabled=True)
    return SetupOut(
        inserted=result.inserted,
        updated=result.updated,
        runtimes=[RuntimeOut.of(e) for e in entries],
    )


@router.get(
    "/setup",
    summary="What seeding the catalog would change",
    description="Read-only: the entries `POST /lambda/setup` would insert or refresh, and "
    "the stored catalog. (This route used to seed; a GET no longer changes anything.)",
    responses=error_responses(503),
    dependencies=[Allowed("catalog:write")],
)
async def setup_plan(platform: ReadyPlatformDep) -> SetupPlanOut:
    builtin = await asyncio.to_thread(builtin_catalog, platform.settings.image_registry)
    records = await platform.store.catalog.runtimes(include_disabled=True)
    stored = {r.entry.id: r.entry for r in records}
    return SetupPlanOut(
        missing=[e.id for e in builtin if e.id not in stored],
        outdated=[
            e.id
            for e in builtin
            if e.id in stored and replace(stored[e.id], disabled=e.disabled) != e
        ],
        runtimes=[RuntimeOut.of(r) for r in records],
    )
