"""Materialise a revision's code on disk and compile Go workers (cached by digest).

A revision directory is written to a temporary sibling and renamed into place, so a crash never
leaves a half-written revision. A Go binary is built once per digest (code, handler and the
wrapper's source) into `go-cache/<digest>/` and shared by every revision and function that has
the same code; concurrent builds of one digest wait for each other (a per-digest file lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from engine.errors import TargetError, ToolMissing
from engine.local.layout import Layout
from engine.spec import FunctionSpec
from runtimes import launch

GO_BUILD_TIMEOUT_S = 600.0
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def base_env() -> dict[str, str]:
    """What a worker or a build inherits from the control plane: nothing secret."""
    return {name: os.environ[name] for name in BASE_ENV_NAMES if name in os.environ}


def materialise(layout: Layout, spec: FunctionSpec) -> tuple[Path, str]:
    """Write the revision's code file; returns (revision dir, code file name). Idempotent."""
    filename = launch.code_filename(spec.runtime, spec.handler, spec.code)
    rev_dir = layout.revision_dir(spec.key, spec.spec_hash)
    target = rev_dir / filename
    if _has_text(target, spec.code):
        return rev_dir, filename
    tmp = rev_dir.with_name(f".{rev_dir.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    (tmp / filename).write_text(spec.code, encoding="utf-8")
    if rev_dir.exists():
        shutil.rmtree(rev_dir)
    tmp.replace(rev_dir)
    return rev_dir, filename


def _has_text(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def go_digest(spec: FunctionSpec) -> str:
    """The key of `spec`'s compiled worker: its code, its handler and the wrapper's source."""
    return _digest(spec, _wrapper_sha256())


def go_digests(specs: Iterable[FunctionSpec]) -> set[str]:
    """`go_digest` of every golang spec among `specs` (the wrapper is hashed once)."""
    wrapper = _wrapper_sha256()
    return {_digest(spec, wrapper) for spec in specs if spec.runtime == "golang"}


def _wrapper_sha256() -> str:
    return hashlib.sha256(launch.GO_WRAPPER.read_bytes()).hexdigest()


def _digest(spec: FunctionSpec, wrapper_sha256: str) -> str:
    parts = (spec.code_sha256, spec.handler, wrapper_sha256)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def go_executable() -> str:
    found = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).exists()), None
    )
    if found is None:
        raise ToolMissing("the golang runtime needs the `go` command on PATH")
    return found


def ensure_go_binary(layout: Layout, spec: FunctionSpec, code_dir: Path) -> Path:
    """The build directory holding the compiled worker for `spec`, building it if needed."""
    digest = go_digest(spec)
    build_dir = layout.go_binary_dir(digest)
    if launch.go_binary(build_dir).exists():
        return build_dir
    locks = layout.go_cache / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with _file_lock(locks / digest):
        if not launch.go_binary(build_dir).exists():
            _build(layout, spec, code_dir, build_dir)
    return build_dir


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)  # the lock file stays: unlinking it would let two builders both "lock"


def _build(layout: Layout, spec: FunctionSpec, code_dir: Path, build_dir: Path) -> None:
    work = layout.go_cache / f".build-{uuid.uuid4().hex[:12]}"
    out_dir = work / "out"
    plan = launch.go_build_plan(
        code_dir,
        launch.go_binary(out_dir),
        src_dir=work / "src",
        gocache=layout.gocache,
        handler=spec.handler,
        go=go_executable(),
    )
    try:
        _write_files(plan.files)
        out_dir.mkdir(parents=True, exist_ok=True)
        _run_build(plan.argv, plan.cwd, {**base_env(), **plan.env})
        if build_dir.exists():
            shutil.rmtree(build_dir)
        out_dir.replace(build_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_files(files: tuple[launch.PlannedFile, ...]) -> None:
    for planned in files:
        planned.dest.parent.mkdir(parents=True, exist_ok=True)
        if planned.source is not None:
            shutil.copyfile(planned.source, planned.dest)
        else:
            planned.dest.write_text(planned.content or "", encoding="utf-8")


def _run_build(argv: tuple[str, ...], cwd: Path, env: Mapping[str, str]) -> None:
    try:
        result = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=GO_BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"go build took longer than {GO_BUILD_TIMEOUT_S:g}s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise TargetError(
            f"the Go code does not compile:\n{output}", detail={"build_output": output}
        )
