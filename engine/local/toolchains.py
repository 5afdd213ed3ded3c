"""Which interpreter or compiler runs (or builds) each runtime's functions on the local target:
the catalog's version, from the tool cache — never whatever python/node/go the machine (or the
control plane's virtualenv) has.

`tools/recipes/runtimes.sh` installs each pinned runtime as a relocatable tree
`<cache>/runtimes/<lang>-<version>/` with a `runtime.json` (`language`, `version`,
`executable`, `source`) and a `.complete` marker written last. A runtime's driver names its
commands (`toolchain_candidates`: `python3`, `node`, `go`); the tree whose executable has that
name and whose version is the function's catalog version (`3.12` → `3.12.1`) runs it. Nothing
found is `ToolMissing` (`tool_missing`), saying how to build it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.catalog import BUILTIN_VERSIONS
from engine.errors import ToolMissing
from engine.tools import cache_dir
from runtimes.driver import Toolchain
from runtimes.registry import driver, drivers

UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class InstalledRuntime:
    """One runtime tree of the cache."""

    root: Path
    command: str
    """The executable's name (`python3`): what a driver's candidates match."""
    toolchain: Toolchain
    source: str


def runtimes_dir() -> Path:
    return cache_dir() / "runtimes"


def scan(root: Path) -> list[InstalledRuntime]:
    """Every complete runtime tree under `root` (a broken `runtime.json` is skipped)."""
    found: list[InstalledRuntime] = []
    for tree in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            meta = json.loads((tree / "runtime.json").read_text())
            executable = tree / str(meta["executable"])
            version, source = str(meta["version"]), str(meta.get("source", ""))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (tree / ".complete").is_file() and executable.is_file():
            command = PurePosixPath(str(meta["executable"])).name
            found.append(
                InstalledRuntime(tree, command, Toolchain(str(executable), version), source)
            )
    return found


def matches(catalog_version: str, version: str) -> bool:
    """`3.12` is run by `3.12.1` (a release of that line), not by `3.121`."""
    return version == catalog_version or version.startswith(f"{catalog_version}.")


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


class Toolchains:
    """Each runtime version's tree, looked up in the cache once."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or runtimes_dir()
        self._trees: list[InstalledRuntime] | None = None
        self._lock = threading.Lock()

    def installed(self, runtime: str, version: str) -> InstalledRuntime:
        runtime_driver = driver(runtime)
        commands = {PurePosixPath(c).name for c in runtime_driver.toolchain_candidates}
        wanted = runtime_driver.toolchain_version or version  # `provided` runs on python 3.12
        fitting = [
            tree
            for tree in self._all()
            if tree.command in commands and matches(wanted, tree.toolchain.version)
        ]
        if not fitting:
            raise ToolMissing(
                f"the {runtime} {version} runtime is not in the tool cache ({self.root}): "
                "build the pinned runtimes with `make tools` (tools/recipes/runtimes.sh)"
            )
        return max(fitting, key=lambda tree: _release(tree.toolchain.version))

    def get(self, runtime: str, version: str) -> Toolchain:
        return self.installed(runtime, version).toolchain

    def available(self, runtime: str, version: str) -> bool:
        try:
            self.installed(runtime, version)
        except ToolMissing:
            return False
        return True

    def version(self, runtime: str, version: str) -> str:
        """e.g. `3.12.1` for python 3.12; `unavailable` when the cache lacks it."""
        try:
            return self.get(runtime, version).version
        except ToolMissing:
            return UNAVAILABLE

    def describe(self, runtime: str, version: str) -> str:
        return f"{runtime} {self.version(runtime, version)}"

    def all(self) -> dict[str, str]:
        """The catalog's built-in runtimes → the version that runs each (`python` → `3.12.1`)."""
        catalog = dict(BUILTIN_VERSIONS)
        return {name: self.version(name, catalog.get(name, "")) for name in drivers()}

    def _all(self) -> list[InstalledRuntime]:
        with self._lock:
            if self._trees is None:
                self._trees = scan(self.root)
            return self._trees
