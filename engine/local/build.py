"""Materialise a deployment's code on disk and run its runtime's build (cached by digest).

A deployment directory is written to a temporary sibling and renamed into place, so a crash
never leaves a half-written one. A build (`RuntimeDriver.build`: the Go compile today) runs
once per digest — the runtime, the code, the handler and the runtime's own build inputs — into
`artifacts/<digest>/`, shared by every deployment and function with the same digest;
concurrent builds of one digest wait for each other (a per-digest file lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from engine.errors import TargetError
from engine.local.layout import Layout
from engine.spec import FunctionSpec
from runtimes.driver import BuildPlan, BuildRequest, PlannedFile, Toolchain
from runtimes.registry import driver

BUILD_TIMEOUT_S = 600.0
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
LOCKS = ".locks"


def base_env() -> dict[str, str]:
    """What a worker or a build inherits from the control plane: nothing secret."""
    return {name: os.environ[name] for name in BASE_ENV_NAMES if name in os.environ}


def materialise(layout: Layout, spec: FunctionSpec) -> tuple[Path, str]:
    """Write the deployment's code file; returns (its directory, the file name). Idempotent."""
    filename = driver(spec.runtime).code_filename(spec.handler, spec.code)
    code_dir = layout.deployment_dir(spec.key, spec.spec_hash)
    target = code_dir / filename
    if _has_text(target, spec.code):
        return code_dir, filename
    tmp = code_dir.with_name(f".{code_dir.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    (tmp / filename).parent.mkdir(parents=True, exist_ok=True)
    (tmp / filename).write_text(spec.code, encoding="utf-8")
    if code_dir.exists():
        shutil.rmtree(code_dir)
    tmp.replace(code_dir)
    return code_dir, filename


def _has_text(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def artifact_digest(spec: FunctionSpec) -> str | None:
    """The key of `spec`'s build output; None when its runtime builds nothing."""
    runtime = driver(spec.runtime)
    if not runtime.builds:
        return None
    inputs = [hashlib.sha256(path.read_bytes()).hexdigest() for path in runtime.build_inputs()]
    parts = (spec.runtime, spec.code_sha256, spec.handler, *inputs)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_artifact(
    layout: Layout, spec: FunctionSpec, code_dir: Path, toolchain: Toolchain
) -> Path | None:
    """The directory holding `spec`'s build output, building it if needed (None: no build)."""
    digest = artifact_digest(spec)
    if digest is None:
        return None
    out_dir = layout.artifact_dir(digest)
    if out_dir.is_dir():
        return out_dir
    locks = layout.artifacts / LOCKS
    locks.mkdir(parents=True, exist_ok=True)
    with _file_lock(locks / digest):
        if not out_dir.is_dir():
            _build(layout, spec, code_dir, out_dir, toolchain)
    return out_dir


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)  # the lock file stays: unlinking it would let two builders both "lock"


def _build(
    layout: Layout, spec: FunctionSpec, code_dir: Path, out_dir: Path, toolchain: Toolchain
) -> None:
    work = layout.artifacts / f".build-{uuid.uuid4().hex[:12]}"
    staged = work / "out"
    request = BuildRequest(
        code_dir=code_dir,
        out_dir=staged,
        work_dir=work,
        cache_dir=layout.build_cache(spec.runtime),
        handler=spec.handler,
        toolchain=toolchain,
    )
    plan = driver(spec.runtime).build(request)
    if plan is None:
        return
    try:
        run_plan(plan, staged)
        staged.replace(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_plan(plan: BuildPlan, out_dir: Path) -> None:
    """Place the plan's files and run its command; a failure is the runtime's own message."""
    _write_files(plan.files)
    out_dir.mkdir(parents=True, exist_ok=True)
    _run(plan.argv, plan.cwd, {**base_env(), **plan.env})


def _write_files(files: tuple[PlannedFile, ...]) -> None:
    for planned in files:
        planned.dest.parent.mkdir(parents=True, exist_ok=True)
        if planned.source is not None:
            shutil.copyfile(planned.source, planned.dest)
        else:
            planned.dest.write_text(planned.content or "", encoding="utf-8")


def _run(argv: tuple[str, ...], cwd: Path, env: Mapping[str, str]) -> None:
    try:
        result = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"the build took longer than {BUILD_TIMEOUT_S:g}s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise TargetError(f"the code does not build:\n{output}", detail={"build_output": output})
