"""Materialise a deployment's code on disk and run its runtime's build (cached by digest).

A deployment directory is written to a temporary sibling and renamed into place, so a crash
never leaves a half-written one. A package (`engine.package`) is unpacked there, each file
checked against the manifest validated at the door, its declared dependencies installed once
per set (`engine.local.dependencies`) and linked in beside its files, and a TypeScript handler
compiled beside its sources (`engine.local.source_compile`). A build
(`RuntimeDriver.build`: the Go compile today) runs once per digest — the runtime, the code,
the handler and the runtime's own build inputs — into `artifacts/<digest>/`, shared by every
deployment and function with the same digest; concurrent builds of one digest wait for each
other (a per-digest file lock).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from engine import package
from engine.errors import PackageRefused, TargetError, ToolMissing
from engine.local import dependencies, source_compile
from engine.local.dependencies import file_lock as _file_lock
from engine.local.layout import Layout
from engine.local.toolchains import Toolchains
from engine.spec import FunctionSpec
from runtimes.driver import BuildPlan, BuildRequest, PlannedFile, Toolchain
from runtimes.registry import driver

BUILD_TIMEOUT_S = 600.0
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
LOCKS = ".locks"
Progress = Callable[[str], None]
_TOOLCHAINS = Toolchains()
"""The tool cache's runtimes, for callers that do not pass the toolchain."""


def base_env() -> dict[str, str]:
    """What a worker or a build inherits from the control plane: nothing secret."""
    return {name: os.environ[name] for name in BASE_ENV_NAMES if name in os.environ}


def _quiet(line: str) -> None:
    del line


def materialise(
    layout: Layout,
    spec: FunctionSpec,
    progress: Progress = _quiet,
    toolchain: Toolchain | None = None,
) -> tuple[Path, str]:
    """Write the deployment's code (a file, or a package and its dependencies); returns (its
    directory, the handler's file name). Idempotent. `toolchain` is the one the function runs
    on (the tool cache's, by default): it installs the dependencies."""
    if spec.is_package:
        return _materialise_package(layout, spec, progress, toolchain)
    filename = driver(spec.runtime).code_filename(spec.handler, spec.code)
    code_dir = layout.deployment_dir(spec.key, spec.spec_hash)
    target = code_dir / filename
    if _has_text(target, spec.code):
        return code_dir, filename
    tmp = code_dir.with_name(f".{code_dir.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    (tmp / filename).parent.mkdir(parents=True, exist_ok=True)
    (tmp / filename).write_text(spec.code, encoding="utf-8")
    # Readable by a sandboxed worker's uid whatever the umask (bound read-only at /var/task).
    for parent in (tmp / filename).parents:
        if parent == tmp.parent:
            break
        parent.chmod(0o755)
    (tmp / filename).chmod(0o644)
    _install(tmp, code_dir)
    return code_dir, filename


def _install(tmp: Path, code_dir: Path) -> None:
    if code_dir.exists():
        shutil.rmtree(code_dir)
    tmp.replace(code_dir)


def _materialise_package(
    layout: Layout, spec: FunctionSpec, progress: Progress, toolchain: Toolchain | None
) -> tuple[Path, str]:
    files = package.manifest(spec.code)
    file_part = spec.handler.rpartition(".")[0]
    filename = next(
        (f.path for f in files if f.path.startswith(f"{file_part}.") and not f.is_link),
        f"{file_part}/",
    )
    code_dir = layout.deployment_dir(spec.key, spec.spec_hash)
    if code_dir.is_dir():  # complete: it was renamed into place whole
        return code_dir, filename
    tmp = code_dir.with_name(f".{code_dir.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    try:
        pkg = package.decode(spec.code)
        unpack(pkg, tmp)
        progress(f"unpacked {len(files)} files ({pkg.unpacked_bytes()} bytes) to {code_dir}")
        manifests = {
            f.path: (tmp / f.path).read_bytes()
            for f in files
            if f.path in package.DEPENDENCY_MANIFESTS and not f.is_link
        }
        deps = None
        if dependencies.installer_for(spec.code) is not None:
            chain = toolchain or _TOOLCHAINS.get(spec.runtime, spec.runtime_version)
            deps = dependencies.ensure(
                layout,
                spec.code,
                runtime=spec.runtime,
                toolchain=chain,
                manifests=manifests,
                progress=progress,
            )
        if deps is not None:
            progress(f"dependencies: linked {dependencies.link_into(deps, tmp)} files")
        filename = source_compile.compile_into(spec, tmp, progress) or filename
        _install(tmp, code_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return code_dir, filename


def unpack(pkg: package.Package, dest: Path) -> None:
    """Write `pkg`'s files under `dest`: only the manifest's paths, each file's bytes checked
    against its hash as it is written (the archive is the one validated at the door)."""
    expected = {f.path: f for f in pkg.files}
    written: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(pkg.archive)) as archive:
        for info in archive.infolist():
            path = info.filename.removesuffix("/")
            entry = expected.get(path)
            if entry is None or path in written:
                continue  # a directory entry
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.is_link:
                target.symlink_to(entry.link)
            else:
                _write_checked(archive, info, target, entry)
            written.add(path)
    if written != set(expected):
        raise PackageRefused("the package's archive lost files", code="invalid_package")
    dependencies.readable(dest)


def _write_checked(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, entry: package.PackageFile
) -> None:
    digest, size = hashlib.sha256(), 0
    with archive.open(info) as source, target.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > entry.size:
                break
            digest.update(chunk)
            out.write(chunk)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise PackageRefused(f"{entry.path} changed after it was checked", code="invalid_package")
    target.chmod(entry.mode)


def _has_text(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def dependency_key(spec: FunctionSpec) -> str | None:
    """`deps/<digest>`, the artifacts entry of `spec`'s dependency set; None when it has none
    (or its runtime is not in the tool cache: then nothing was built for it here)."""
    installer = dependencies.installer_for(spec.code) if spec.is_package else None
    if installer is None:
        return None
    try:
        chain = _TOOLCHAINS.get(spec.runtime, spec.runtime_version)
    except ToolMissing:
        return None
    return f"{dependencies.DEPS}/{dependencies.digest(spec.code, installer, spec.runtime, chain)}"


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
        for built in (staged, *staged.iterdir()):  # a sandboxed worker's uid runs it
            built.chmod(0o755)
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
