"""The command line of one sandboxed worker: bubblewrap (namespaces and mounts) → setpriv (the
worker's own unprivileged uid, no groups, no capabilities) → tini (pid 1: its exit ends the pid
namespace) → the runtime's worker. Pure: paths and argv, nothing started.

Inside, the worker sees `/usr` (read-only), a few files of `/etc`, its code at `/var/task`, its
layers at `/opt` (read-only, when it has any), the paths in `ro_paths` (its runtime and wrapper,
read-only, at their host paths), a private `/tmp` and `/dev/shm`, and `/run/fn` (its socket
directory). Nothing else of the host's file system:
not the data dir, not other functions, not the control plane's code, virtualenv or `/proc`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

TASK_DIR = "/var/task"
OPT_DIR = "/opt"
"""Where a function's layers are (`engine.local.layers`), as in Lambda."""
SOCKET_DIR = "/run/fn"
SOCKET_PATH = f"{SOCKET_DIR}/http.sock"
HOME = "/tmp"  # noqa: S108 (the sandbox's own private tmpfs)
PATH = "/usr/local/bin:/usr/bin:/bin"
SHM_BYTES = 16 * 1024 * 1024
HOST_FILES = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/ld.so.cache",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/ca-certificates",
)
"""What name resolution, TLS, time zones and the dynamic loader read (bound if present)."""
_MADE = frozenset(  # made by the mounts above (the sandbox's own, not the host's)
    {"/", "/usr", "/etc", "/etc/ssl", "/run", "/tmp", "/dev", "/proc", "/var"}  # noqa: S108
)


@dataclass(frozen=True)
class Tools:
    bwrap: str
    setpriv: str
    tini: str


@dataclass(frozen=True)
class BoxSpec:
    """What one sandbox contains."""

    uid: int
    code_dir: str
    """Bound read-only at /var/task."""
    ro_paths: tuple[str, ...]
    """Bound read-only at their own path (the runtime's tree, the wrapper's files)."""
    socket_dir: str
    """Bound read-write at /run/fn."""
    tmp_bytes: int
    unset_env: tuple[str, ...] = ()
    """Variables bwrap keeps (the recovery marker) but the worker must not see."""
    opt_dir: str | None = None
    """The function's layers, bound read-only at /opt (None: no /opt)."""


@dataclass(frozen=True)
class BoxFds:
    """Descriptors bwrap inherits: pipes the launcher writes or reads."""

    info: int
    block: int
    passwd: int
    group: int
    seccomp: int | None


def bwrap_argv(spec: BoxSpec, fds: BoxFds, tools: Tools, command: Iterable[str]) -> list[str]:
    argv = [tools.bwrap, "--as-pid-1", *_namespaces(), *_base_mounts(spec.tmp_bytes)]
    argv += _etc(fds)
    made = set(_MADE)
    for path in spec.ro_paths:
        if not path.startswith("/usr/"):
            argv += [*_parents(path, made), "--ro-bind", path, path]
    argv += ["--ro-bind", spec.code_dir, TASK_DIR, "--bind", spec.socket_dir, SOCKET_DIR]
    if spec.opt_dir is not None:
        argv += ["--ro-bind", spec.opt_dir, OPT_DIR]
    for name in spec.unset_env:
        argv += ["--unsetenv", name]
    if fds.seccomp is not None:
        argv += ["--seccomp", str(fds.seccomp)]
    argv += ["--chdir", TASK_DIR, "--info-fd", str(fds.info), "--block-fd", str(fds.block)]
    argv += ["--", *_drop_privileges(tools.setpriv, spec.uid), "--", tools.tini, "-g", "--"]
    return argv + list(command)


def _namespaces() -> list[str]:
    return [
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "fn",
        "--new-session",
    ]


def _base_mounts(tmp_bytes: int) -> list[str]:
    """Paths of the sandbox's own file system (fresh tmpfs mounts), not the host's."""
    return [
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/sbin", "/sbin",
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",  # noqa: S108
        "--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp",  # noqa: S108
        "--perms", "0755", "--dir", "/var",
        "--perms", "1777", "--dir", "/var/tmp",  # noqa: S108
        "--perms", "0755", "--dir", "/run",
    ]  # fmt: skip


def _etc(fds: BoxFds) -> list[str]:
    argv = ["--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/etc/ssl"]
    for path in HOST_FILES:
        argv += ["--ro-bind-try", path, path]
    return [
        *argv,
        "--perms", "0444", "--ro-bind-data", str(fds.passwd), "/etc/passwd",
        "--perms", "0444", "--ro-bind-data", str(fds.group), "/etc/group",
    ]  # fmt: skip


def _parents(path: str, made: set[str]) -> list[str]:
    """`--dir` for each missing ancestor of a bind destination, outermost first: bwrap would
    create them mode 0700, which the worker's uid could not traverse."""
    argv: list[str] = []
    for parent in reversed(PurePosixPath(path).parents):
        name = str(parent)
        if name not in made:
            argv += ["--perms", "0755", "--dir", name]
            made.add(name)
    return argv


def _drop_privileges(setpriv: str, uid: int) -> list[str]:
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def account_files(uid: int) -> tuple[bytes, bytes]:
    """`/etc/passwd` and `/etc/group` inside: the worker's account (`fn`) and the usual two
    (node's `os.userInfo()` throws for a uid without an entry)."""
    passwd = (
        "root:x:0:0::/nonexistent:/usr/sbin/nologin\n"
        f"fn:x:{uid}:{uid}::{HOME}:/usr/sbin/nologin\n"
        "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
    )
    group = f"root:x:0:\nfn:x:{uid}:\nnogroup:x:65534:\n"
    return passwd.encode(), group.encode()
