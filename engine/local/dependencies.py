"""A package's declared dependencies, installed once per dependency set, with the toolchain the
function runs on.

`requirements.txt` is installed by the function's own pinned CPython (`python -m pip install
--target`), `package.json` (+ `package-lock.json`) by the pinned node's npm (`npm ci`, or
`npm install` without a lock file, `--omit=dev`). The result is cached in
`artifacts/deps/<digest>/`, the digest covering the manifest, the lock file, the runtime and
its exact version: an unchanged set installs nothing ("cache hit"). Deployments get the
cached files as hard links (cheap, and a later removal of the cache entry never breaks one);
the function's own files win over a dependency's of the same path.

The tool's output streams as progress lines; a failure raises `DependencyBuildFailed` with the
tail of it, before any switch, so the previous revision keeps serving. Package indexes are the
operator's: `PIP_*`, `npm_config_*`, `GOPROXY`… and the proxy and CA variables pass from the
control plane's environment to the build — and nothing is fetched when a function runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine import package
from engine.errors import DependencyBuildFailed
from engine.local.layout import Layout
from runtimes.driver import Toolchain

Progress = Callable[[str], None]
DEPS = "deps"
"""The folder of `artifacts/` holding the installed dependency sets."""
FORMAT = "deps/1"
"""Part of every digest: changing how builds run invalidates the cache."""
BUILD_TIMEOUT_S = 900.0
PROGRESS_LINES = 200
"""At most this many of a tool's lines become progress lines (each is a database write)."""
TAIL_LINES = 40
PASSED_PREFIXES = ("PIP_", "NPM_CONFIG_", "GO")
PASSED_NAMES = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "XDG_CACHE_HOME",
)


@dataclass(frozen=True)
class Installer:
    """How one runtime's dependency manifest is installed."""

    manifests: tuple[str, ...]
    """The files that make the set (the first one must be there), copied into the work dir."""
    tool: str


INSTALLERS = {"requirements.txt": Installer(("requirements.txt",), "pip")}
INSTALLERS["package.json"] = Installer(("package.json", "package-lock.json"), "npm")


def installer_for(code: str) -> Installer | None:
    """The installer a package's root manifests ask for (None: nothing to install). A package
    that ships its own `node_modules/` is used as it is."""
    files = package.dependency_files(code)
    if "package.json" in files and any(
        f.path.startswith("node_modules/") for f in package.manifest(code)
    ):
        return None
    return next((inst for name, inst in INSTALLERS.items() if name in files), None)


def digest(code: str, installer: Installer, runtime: str, toolchain: Toolchain) -> str:
    files = package.dependency_files(code)
    parts = [FORMAT, runtime, toolchain.version, *(files.get(m, "-") for m in installer.manifests)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure(
    layout: Layout,
    code: str,
    *,
    runtime: str,
    toolchain: Toolchain,
    manifests: dict[str, bytes],
    progress: Progress,
) -> Path | None:
    """The cached install of `code`'s dependency set, built if needed; None when it has none.
    `manifests` holds the package's root manifest files (path → content)."""
    installer = installer_for(code)
    if installer is None or not _declares_anything(installer, manifests):
        return None
    key = digest(code, installer, runtime, toolchain)
    out = layout.artifacts / DEPS / key
    if out.is_dir():
        progress(f"dependencies: cache hit {key[:12]}, nothing installed")
        return out
    locks = layout.artifacts / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with file_lock(locks / f"deps-{key}"):
        if out.is_dir():
            progress(f"dependencies: cache hit {key[:12]} (built meanwhile), nothing installed")
            return out
        progress(f"dependencies: installing with {installer.tool} ({toolchain.version})")
        _build(
            layout, installer, toolchain=toolchain, manifests=manifests, out=out, progress=progress
        )
        progress(f"dependencies: built and cached as {key[:12]}")
    return out


def _declares_anything(installer: Installer, manifests: dict[str, bytes]) -> bool:
    if installer.tool != "pip":
        return True
    lines = manifests.get("requirements.txt", b"").decode("utf-8", "replace").splitlines()
    return any(line.split("#", 1)[0].strip() for line in lines)


def _build(
    layout: Layout,
    installer: Installer,
    *,
    toolchain: Toolchain,
    manifests: dict[str, bytes],
    out: Path,
    progress: Progress,
) -> None:
    work = layout.artifacts / f".build-deps-{uuid.uuid4().hex[:12]}"
    staged = work / "out"
    try:
        staged.mkdir(parents=True)
        for name in installer.manifests:
            if name in manifests:
                (work / name).write_bytes(manifests[name])
        if installer.tool == "pip":
            argv = _pip_argv(toolchain, work, staged)
        else:
            argv = _npm_argv(toolchain, "package-lock.json" in manifests)
        run(argv, work, build_env(toolchain), progress, installer.tool)
        if installer.tool == "npm" and (work / "node_modules").is_dir():  # none: no deps
            (work / "node_modules").replace(staged / "node_modules")
        readable(staged)
        out.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pip_argv(toolchain: Toolchain, work: Path, staged: Path) -> list[str]:
    return [
        toolchain.executable,
        "-I",  # the pinned interpreter's own pip, no user site, no PYTHON* variables
        "-m",
        "pip",
        "install",
        "--target",
        str(staged),
        "--requirement",
        str(work / "requirements.txt"),
        "--only-binary=:all:",  # wheels only: no setup.py runs on the control plane's machine
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--root-user-action=ignore",
        "--progress-bar",
        "off",
    ]


def _npm_argv(toolchain: Toolchain, locked: bool) -> list[str]:
    npm_cli = Path(toolchain.executable).parent / "npm"
    verb = ["ci"] if locked else ["install", "--no-package-lock"]
    flags = ["--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier"]
    return [toolchain.executable, str(npm_cli.resolve()), *verb, *flags]


def build_env(toolchain: Toolchain) -> dict[str, str]:
    """The operator's index and proxy settings, the toolchain first on PATH; nothing else."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in PASSED_NAMES or name.upper().startswith(PASSED_PREFIXES)
    }
    bin_dir = str(Path(toolchain.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in (bin_dir, env.get("PATH", "")) if p)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], progress: Progress, tool: str) -> None:
    """Run `argv`, each output line a progress line (up to PROGRESS_LINES); a non-zero exit
    or the timeout is `DependencyBuildFailed` with the output's tail."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    timer = threading.Timer(BUILD_TIMEOUT_S, _kill_group, (proc,))
    timer.start()
    shown = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            text = line.rstrip()
            if not text:
                continue
            tail.append(text)
            shown += 1
            if shown <= PROGRESS_LINES:
                progress(f"{tool}: {text}")
            elif shown == PROGRESS_LINES + 1:
                progress(f"{tool}: … (further output only in a failure's error)")
        code = proc.wait()
    finally:
        timer.cancel()
    if code != 0:
        output = "\n".join(tail)
        why = "timed out" if code == -signal.SIGKILL else f"exited with {code}"
        raise DependencyBuildFailed(
            f"installing the dependencies failed ({tool} {why}):\n{output}",
            detail={"build_output": output},
        )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def readable(root: Path) -> None:
    """Directories 0755, files at least 0644: a sandboxed worker's uid reads them."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(0o755 if path.is_dir() else (mode & 0o777) | 0o644)


def link_into(source: Path, dest: Path) -> int:
    """Hard-link the tree `source` into `dest` (copying across file systems); files already
    in `dest` (the function's own) are kept. Returns how many files were linked."""
    linked = 0
    for root, dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in [*files, *(d for d in dirs if (Path(root) / d).is_symlink())]:
            src, dst = Path(root) / name, dest / rel / name
            if dst.exists() or dst.is_symlink():
                continue
            if src.is_symlink():
                dst.symlink_to(src.readlink())
            else:
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
            linked += 1
    return linked


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `path`, waited for."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)  # the lock file stays: unlinking it would let two builders both "lock"
