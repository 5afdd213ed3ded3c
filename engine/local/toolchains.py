"""Which interpreter or compiler actually runs each runtime on the local target.

The local target does not use the catalog's images: each runtime's driver names the commands
to try (`RuntimeDriver.toolchain_candidates`), and the first one found runs (or builds) its
functions. Their versions — probed once, with the driver's own command — are what a function
really gets, and what the progress lines and `status()` report.
"""

from __future__ import annotations

import shutil
import subprocess
import threading

from engine.errors import ToolMissing
from engine.local.build import base_env
from runtimes.driver import RuntimeDriver, Toolchain
from runtimes.registry import driver, drivers

VERSION_TIMEOUT_S = 10.0
UNAVAILABLE = "unavailable"


class Toolchains:
    """Each runtime's toolchain, looked up (and its version probed) once."""

    def __init__(self) -> None:
        self._found: dict[str, Toolchain | None] = {}
        self._lock = threading.Lock()

    def get(self, runtime: str) -> Toolchain:
        toolchain = self._lookup(runtime)
        if toolchain is None:
            tried = ", ".join(driver(runtime).toolchain_candidates)
            raise ToolMissing(f"the {runtime} runtime needs one of these on PATH: {tried}")
        return toolchain

    def version(self, runtime: str) -> str:
        """e.g. `3.11.7`, `20.20.2`, `1.26.8`; `unavailable` when the toolchain is missing."""
        toolchain = self._lookup(runtime)
        return toolchain.version if toolchain else UNAVAILABLE

    def available(self, runtime: str) -> bool:
        return self._lookup(runtime) is not None

    def describe(self, runtime: str) -> str:
        return f"{runtime} {self.version(runtime)}"

    def all(self) -> dict[str, str]:
        return {runtime: self.version(runtime) for runtime in drivers()}

    def _lookup(self, runtime: str) -> Toolchain | None:
        with self._lock:
            if runtime in self._found:
                return self._found[runtime]
        found = _find(driver(runtime))
        with self._lock:
            return self._found.setdefault(runtime, found)


def _find(runtime: RuntimeDriver) -> Toolchain | None:
    for candidate in runtime.toolchain_candidates:
        executable = shutil.which(candidate)
        if executable is not None:
            output = _output(runtime.version_argv(executable), dict(runtime.toolchain_env))
            version = runtime.parse_version(output) if output else UNAVAILABLE
            return Toolchain(executable, version)
    return None


def _output(argv: list[str], extra_env: dict[str, str]) -> str | None:
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
            env={**base_env(), **extra_env},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = result.stdout.strip()
    return text if result.returncode == 0 and text else None
