"""The runtime catalog: the default shape of a new function, the runtimes, and seeding."""

from __future__ import annotations

from fastapi import APIRouter

from api.catalog_schemas import DefaultOut, RuntimeList, RuntimeOut, SetupOut
from api.deps import ReadyPlatformDep, ServiceDep
from api.routes.docs import error_responses
from engine.catalog import BUILTIN_VERSIONS, DEFAULT_RUNTIME
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
)
async def list_runtimes(platform: ReadyPlatformDep) -> RuntimeList:
    entries = await platform.store.catalog.runtimes()
    return RuntimeList(items=[RuntimeOut.of(e) for e in entries])


@router.get(
    "/setup",
    summary="Seed the catalog",
    description="Creates the `lambda.runtime` and `lambda.default` documents of this release "
    f"({BUILTIN}; default {' '.join(DEFAULT_RUNTIME)}). Idempotent: entries are upserted "
    "by runtime and version, never duplicated; an operator's `disabled` flag is kept.",
    responses=error_responses(503),
)
async def setup(platform: ReadyPlatformDep) -> SetupOut:
    result = await platform.service.seed_catalog()
    entries = await platform.store.catalog.runtimes(include_disabled=True)
    return SetupOut(
        inserted=result.inserted,
        updated=result.updated,
        runtimes=[RuntimeOut.of(e) for e in entries],
    )
