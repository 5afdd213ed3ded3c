"""Finds the external tools (pulumi, its kubernetes provider, ferretdb, the kube control plane)
in the order tools/bootstrap.sh puts them: PATH first, then the versioned cache outside the repo.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from engine.errors import ToolMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = REPO_ROOT / "tools" / "versions.env"


def cache_dir() -> Path:
    explicit = os.environ.get("LAMBDACLONE_TOOLS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lambdaclone" / "tools"


@cache
def pinned_versions() -> dict[str, str]:
    """The KEY=value lines of tools/versions.env."""
    versions: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            versions[name.strip()] = value.strip()
    return versions


def tool_bin_dirs() -> list[Path]:
    """The cache's bin directories, each holding one tool at its pinned version."""
    root = cache_dir()
    if not root.is_dir():
        return []
    return sorted(d / "bin" for d in root.iterdir() if (d / ".complete").is_file())


def tool_path(name: str) -> Path:
    """Where `name` is; raises ToolMissing with the command that provides it."""
    search = os.pathsep.join([*map(str, tool_bin_dirs()), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        raise ToolMissing(f"{name} was not found on PATH or in {cache_dir()}; run `make tools`")
    return Path(found)


def tool_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose PATH has the cache first, with Pulumi told never to download."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([*map(str, tool_bin_dirs()), env.get("PATH", "")])
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    return env


def ferretdb_path() -> Path:
    """The embedded store's server: the cache's build at the pinned version and recipe
    (FERRETDB_VERSION, FERRETDB_BUILD), else a `ferretdb` on PATH (the control-plane image
    installs that same build there). A cache built by an older recipe lacks the Unix socket
    listener and the lifeline, so it is never used: `make tools-run` builds it again."""
    versions = pinned_versions()
    version, build = versions["FERRETDB_VERSION"], versions["FERRETDB_BUILD"]
    built = cache_dir() / f"ferretdb-{version}"
    if (built / ".complete").is_file() and _read(built / ".build") == build:
        return built / "bin" / "ferretdb"
    on_path = shutil.which("ferretdb")
    if on_path is not None and not Path(on_path).is_relative_to(cache_dir()):
        return Path(on_path)
    raise ToolMissing(
        f"ferretdb {version} (build {build}) is not in {cache_dir()}; run `make tools-run`"
    )


def esbuild_path() -> Path:
    """The TypeScript compiler node packages are built with: the cache's at ESBUILD_VERSION
    (keyed by version: another version's cache is never used), else an `esbuild` on PATH
    (an image that installs that same release there)."""
    version = pinned_versions()["ESBUILD_VERSION"]
    built = cache_dir() / f"esbuild-{version}"
    if (built / ".complete").is_file():
        return built / "bin" / "esbuild"
    on_path = shutil.which("esbuild")
    if on_path is not None and not Path(on_path).is_relative_to(cache_dir()):
        return Path(on_path)
    raise ToolMissing(
        f"esbuild {version} is not in {cache_dir()}; run `tools/bootstrap.sh esbuild`"
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None
