"""Can this machine sandbox workers? Checked once per process, at the local target's start.

`full` needs: root (bwrap builds the namespaces from any bind source and setpriv drops to each
worker's uid; cgroup v1 writes), bubblewrap with the options the launch uses, util-linux
`setpriv`, `tini`, writable cgroup v1 memory/cpu/pids/freezer controllers under our own cgroup,
x86_64 (the seccomp filter's numbers), and a trial sandbox that really runs. Anything less is
`off`: workers run as plain processes of the control plane's user, with a loud warning
(`LAMBDACLONE_SANDBOX=strict` refuses to start instead). See docs/local-target.md.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.local import cgroups, seccomp
from engine.local.sandbox_argv import Tools

SandboxLevel = Literal["full", "off"]
BWRAP_OPTIONS = (
    "--as-pid-1",
    "--info-fd",
    "--block-fd",
    "--perms",
    "--size",
    "--ro-bind-data",
    "--seccomp",
    "--unsetenv",
    "--unshare-cgroup-try",
)
TRIAL_TIMEOUT_S = 10.0
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class HostSupport:
    level: SandboxLevel
    reason: str
    """Why the level is not `full` (empty when it is)."""
    tools: Tools | None = None


def check(mode: str) -> HostSupport:
    """The level for the `sandbox` setting (`auto`, `strict` or `off`)."""
    if mode == "off":
        return HostSupport("off", "turned off (LAMBDACLONE_SANDBOX=off)")
    return _probe()


@functools.cache
def _probe() -> HostSupport:
    if os.geteuid() != 0:
        return HostSupport("off", "the control plane is not running as root")
    tools = _tools()
    if isinstance(tools, str):
        return HostSupport("off", tools)
    for reason in (_bwrap_options(tools.bwrap), cgroups.unusable_reason(), _arch(), _trial(tools)):
        if reason is not None:
            return HostSupport("off", reason)
    return HostSupport("full", "", tools)


def _tools() -> Tools | str:
    found = {name: shutil.which(name, path=SEARCH_PATH) for name in ("bwrap", "setpriv", "tini")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        return f"not installed: {', '.join(missing)} (Debian: bubblewrap, util-linux, tini)"
    return Tools(**{name: str(path) for name, path in found.items()})


def _bwrap_options(bwrap: str) -> str | None:
    if Path(bwrap).stat().st_mode & 0o4000:
        return f"{bwrap} is setuid (it refuses some options): use a non-setuid bubblewrap"
    text = _run([bwrap, "--help"])[1]
    missing = [option for option in BWRAP_OPTIONS if option not in text]
    return f"bubblewrap too old (lacks {', '.join(missing)}; need 0.8)" if missing else None


def _arch() -> str | None:
    return None if seccomp.supported() else "the seccomp filter is written for x86_64 only"


def _trial(tools: Tools) -> str | None:
    """One tiny sandbox as nobody: namespaces, mounts and the uid drop all work."""
    argv = [
        tools.bwrap, "--as-pid-1", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
        "--proc", "/proc", "--dev", "/dev", "--",
        tools.setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
        "--", tools.tini, "-g", "--", "/usr/bin/true",
    ]  # fmt: skip
    code, output = _run(argv)
    return None if code == 0 else f"a trial sandbox failed ({code}): {output[-300:]}"


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TRIAL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()
