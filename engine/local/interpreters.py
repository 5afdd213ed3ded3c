"""Which interpreter or toolchain actually runs each runtime on the local target.

The local target does not use the catalog's images: python workers run on the control plane's
own interpreter (`sys.executable`), node workers on the `node` found on PATH, and Go workers are
compiled by the `go` found on PATH (with `GOTOOLCHAIN=local`; `go.mod` says `go 1.22`, which
sets the language version, not the compiler). These versions are what a function really gets.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import threading

from engine.errors import ToolMissing
from engine.local import build

VERSION_TIMEOUT_S = 10.0
UNAVAILABLE = "unavailable"


class Interpreters:
    """Versions of the local runtimes, each looked up once (a subprocess for node and go)."""

    def __init__(self) -> None:
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()

    def version(self, runtime: str) -> str:
        """e.g. `3.11.7`, `20.20.2`, `1.26.8`; `unavailable` when the tool is missing."""
        with self._lock:
            known = self._versions.get(runtime)
        if known is not None:
            return known
        found = _look_up(runtime)
        with self._lock:
            return self._versions.setdefault(runtime, found)

    def all(self) -> dict[str, str]:
        return {runtime: self.version(runtime) for runtime in ("python", "node", "golang")}


def _look_up(runtime: str) -> str:
    if runtime == "python":
        return platform.python_version()
    if runtime == "node":
        node = shutil.which("node")
        out = _output([node, "--version"]) if node else None
        return out.removeprefix("v") if out else UNAVAILABLE
    if runtime == "golang":
        try:
            go = build.go_executable()
        except ToolMissing:
            return UNAVAILABLE
        out = _output([go, "env", "GOVERSION"], {"GOTOOLCHAIN": "local"})
        return out.removeprefix("go") if out else UNAVAILABLE
    return UNAVAILABLE


def _output(argv: list[str], extra_env: dict[str, str] | None = None) -> str | None:
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
            env={**build.base_env(), **(extra_env or {})},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = result.stdout.strip()
    return text if result.returncode == 0 and text else None
