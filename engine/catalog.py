"""The built-in runtime catalog: which runtimes exist, their images and their default code.

The database copies (`lambda.runtime`, `lambda.default`) are seeded from here by
`GET /lambda/setup` and at first start; this module stays the single source of the defaults so
a new release can refresh default code and images without hand-editing documents.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import runtimes
from engine.errors import CatalogSourceMissing
from engine.spec import RuntimeName, RuntimeSpec
from engine.store.catalog import CatalogRepo, SeedResult

RUNTIMES_DIR = Path(runtimes.__file__).parent
DEFAULT_HANDLER = "handler.handler"
"""`file.function`: every default code file is `handler.<ext>` exporting `handler`."""

EXTENSIONS: dict[RuntimeName, str] = {"golang": "go", "node": "mjs", "python": "py"}
RUN_COMMANDS: dict[RuntimeName, str] = {
    "golang": "/opt/lambdaclone/entrypoint.sh",
    "node": "node /opt/lambdaclone/runtimes/node/wrapper.mjs",
    "python": "python /opt/lambdaclone/runtimes/python/wrapper.py",
}


@dataclass(frozen=True)
class BuiltinRuntime:
    runtime: RuntimeName
    version: str


BUILTIN_RUNTIMES: tuple[BuiltinRuntime, ...] = (
    BuiltinRuntime("golang", "1.22"),
    BuiltinRuntime("node", "20"),
    BuiltinRuntime("python", "3.12"),
)
DEFAULT_RUNTIME = BuiltinRuntime("node", "20")


def image_for(runtime: RuntimeName, version: str, registry: str = "lambdaclone") -> str:
    return f"{registry}/runtime-{runtime}:{version}"


def default_code_path(runtime: RuntimeName, root: Path = RUNTIMES_DIR) -> Path:
    return root / runtime / "default" / f"handler.{EXTENSIONS[runtime]}"


def read_default_code(runtime: RuntimeName, root: Path = RUNTIMES_DIR) -> str:
    path = default_code_path(runtime, root)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogSourceMissing(
            f"default code for {runtime} is missing at {path}", detail={"path": str(path)}
        ) from exc


def builtin_catalog(
    root: Path = RUNTIMES_DIR, registry: str = "lambdaclone"
) -> tuple[RuntimeSpec, ...]:
    """The catalog a fresh installation starts with, default code read from the wrappers."""
    return tuple(
        RuntimeSpec(
            runtime=item.runtime,
            version=item.version,
            image=image_for(item.runtime, item.version, registry),
            default_code=read_default_code(item.runtime, root),
            default_handler=DEFAULT_HANDLER,
            run_command=RUN_COMMANDS[item.runtime],
        )
        for item in BUILTIN_RUNTIMES
    )


async def seed_catalog(repo: CatalogRepo, registry: str = "lambdaclone") -> SeedResult:
    """Seed (idempotently) the database copies of the built-in catalog and default."""
    specs = await asyncio.to_thread(builtin_catalog, RUNTIMES_DIR, registry)
    return await repo.seed(specs, (DEFAULT_RUNTIME.runtime, DEFAULT_RUNTIME.version))
