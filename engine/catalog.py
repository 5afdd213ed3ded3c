"""The runtime catalog: which runtime versions a function may choose, their images, their run
commands and their default code — and the one place the engine names the built-in runtimes.

The database copies (`lambda.runtime`, `lambda.default`) are seeded from `builtin_catalog` by
`POST /lambda/setup` and at first start; this module stays the single source of the defaults so
a new release can refresh default code and images without hand-editing documents. Everything
else about a runtime comes from its driver (`runtimes.registry`).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import CatalogSourceMissing
from runtimes.registry import RuntimeName, driver

BUILTIN_VERSIONS: tuple[tuple[RuntimeName, str], ...] = (
    (RuntimeName("golang"), "1.22"),
    (RuntimeName("node"), "20"),
    (RuntimeName("provided"), "2018-06-01"),
    (RuntimeName("python"), "3.12"),
)
"""`provided`'s version is the Lambda Runtime API's, the one thing its `bootstrap` is written
against (Lambda's `provided.al2023` names an OS; here the OS is the machine's or the image's)."""
DEFAULT_RUNTIME: tuple[RuntimeName, str] = (RuntimeName("node"), "20")


@dataclass(frozen=True)
class RuntimeEntry:
    """One catalog entry: a runtime/version pair and how it runs."""

    runtime: RuntimeName
    version: str
    image: str
    default_code: str
    default_handler: str
    run_command: str
    disabled: bool = False

    @property
    def id(self) -> str:
        return f"{self.runtime}:{self.version}"


@dataclass(frozen=True)
class Catalog:
    """The enabled entries and the default one (None if it is disabled or missing)."""

    entries: tuple[RuntimeEntry, ...]
    default: RuntimeEntry | None


@dataclass(frozen=True)
class CatalogRecord:
    """A stored entry with its dates."""

    entry: RuntimeEntry
    reg_date: datetime
    update_date: datetime


@dataclass(frozen=True)
class DefaultChoice:
    runtime: RuntimeName
    version: str
    disabled: bool
    reg_date: datetime
    update_date: datetime


def image_for(runtime: str, version: str, registry: str = "lambdaclone") -> str:
    """The runtime's image: `<registry>/runtime-<runtime>:<version>` for a repository prefix;
    for an images lock (`registry` is its absolute path), the digest reference it records."""
    name = f"runtime-{runtime}:{version}"
    if registry.startswith("/"):
        return locked_image(Path(registry), name)
    return f"{registry}/{name}"


def locked_image(lock: Path, name: str) -> str:
    """`name` (`runtime-python:3.12`) as pushed: the lock `make images push` writes maps each
    image to `<registry>/<repository>@sha256:<digest>`, so pods run exactly the bytes built."""
    try:
        images = json.loads(lock.read_text(encoding="utf-8"))["images"]
        reference = images[name]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogSourceMissing(
            f"image {name} is not in the images lock {lock}: {exc}", detail={"path": str(lock)}
        ) from exc
    if not isinstance(reference, str) or "@sha256:" not in reference:
        raise CatalogSourceMissing(f"the images lock {lock} names {name} without a digest")
    return reference


def read_default_code(runtime: str) -> str:
    path = driver(runtime).default_code_path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogSourceMissing(
            f"default code for {runtime} is missing at {path}", detail={"path": str(path)}
        ) from exc


def builtin_catalog(registry: str = "lambdaclone") -> tuple[RuntimeEntry, ...]:
    """The catalog a fresh installation starts with, default code read from the runtimes."""
    return tuple(builtin_entry(runtime, version, registry) for runtime, version in BUILTIN_VERSIONS)


def builtin_entry(runtime: RuntimeName, version: str, registry: str) -> RuntimeEntry:
    runtime_driver = driver(runtime)
    return RuntimeEntry(
        runtime=runtime,
        version=version,
        image=image_for(runtime, version, registry),
        default_code=read_default_code(runtime),
        default_handler=runtime_driver.default_handler,
        run_command=shlex.join(runtime_driver.image_command),
    )


def find_entry(entries: Sequence[RuntimeEntry], runtime: str, version: str) -> RuntimeEntry | None:
    return next((e for e in entries if (e.runtime, e.version) == (runtime, version)), None)
