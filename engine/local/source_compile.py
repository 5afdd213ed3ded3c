"""Compile a package's handler written in a language its runtime compiles at deploy time —
TypeScript for node, with esbuild (`runtimes/node/driver.py`, `NodeDriver.compile`).

It runs inside `build.materialise`, on the unpacked package with its dependencies linked in,
before the deployment directory is renamed into place: so on both targets (the Kubernetes
target's artifact build runs `materialise` too), off the event loop like the rest of the
build, and kept with the directory, which is keyed by the function's content (an unchanged
revision compiles nothing). A compile error raises `TargetError` with the tail of esbuild's
own output (`detail.build_output`), as a Go compile error does, before any switch: the
previous revision keeps serving.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from engine import package, tools
from engine.errors import TargetError
from engine.spec import FunctionSpec
from runtimes.driver import BuildPlan, CompileRequest, Toolchain
from runtimes.registry import driver

COMPILE_TIMEOUT_S = 300.0
TAIL_CHARS = 4000
QUIET_ARGS = ("--outfile=", "--log-level=", "--color=")
"""Arguments left out of the progress line (the output path is the build's scratch)."""
Progress = Callable[[str], None]


def compiler() -> Toolchain:
    """The pinned esbuild (`engine.tools.esbuild_path`)."""
    return Toolchain(str(tools.esbuild_path()), tools.pinned_versions()["ESBUILD_VERSION"])


def plan_for(
    spec: FunctionSpec, code_dir: Path, chain: Callable[[], Toolchain] = compiler
) -> BuildPlan | None:
    """The compile `spec`'s package needs, unpacked in `code_dir`; None when it needs none
    (the compiler is only looked for when there is something to compile)."""
    runtime = driver(spec.runtime)
    files = frozenset(f.path for f in package.manifest(spec.code) if not f.is_link)
    source = runtime.compile_source(spec.handler, files)
    if source is None:
        return None
    request = CompileRequest(
        code_dir=code_dir,
        source=source,
        compiler=chain(),
        runtime_version=spec.runtime_version,
        package_type=package_type(code_dir / "package.json"),
    )
    return runtime.compile(request)


def package_type(manifest: Path) -> str:
    """package.json's `type` (empty when absent or unreadable: node's default, CommonJS)."""
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("type", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def compile_into(spec: FunctionSpec, code_dir: Path, progress: Progress) -> str | None:
    """Compile the handler in `code_dir`; returns the compiled file's path in the package
    (`src/index.cjs`), or None when the package is loaded as it is."""
    plan = plan_for(spec, code_dir)
    if plan is None:
        return None
    shown = [arg for arg in plan.argv[1:] if not arg.startswith(QUIET_ARGS)]
    progress(f"compiling with esbuild {' '.join(shown)}")
    started = time.monotonic()
    output = run(plan)
    took_ms = (time.monotonic() - started) * 1000
    for line in output.splitlines()[:50]:
        if line.strip():
            progress(f"esbuild: {line}")
    for path in plan.outputs:
        path.chmod(0o644)  # a sandboxed worker's uid reads them
    compiled = plan.outputs[0].relative_to(code_dir).as_posix()
    progress(f"compiled {compiled} (+ source map) in {took_ms:.0f} ms")
    return compiled


def run(plan: BuildPlan) -> str:
    """Run the compile; its output (warnings), or `TargetError` with its tail."""
    try:
        result = subprocess.run(
            plan.argv,
            cwd=plan.cwd,
            env=dict(plan.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TargetError(
            f"the TypeScript compile took longer than {COMPILE_TIMEOUT_S:g}s"
        ) from exc
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or not all(path.is_file() for path in plan.outputs):
        tail = output[-TAIL_CHARS:]
        raise TargetError(
            f"the code does not compile (esbuild exited with {result.returncode}):\n{tail}",
            detail={"build_output": tail},
        )
    return output
