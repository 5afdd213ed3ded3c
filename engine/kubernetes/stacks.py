"""The Automation API service: workspaces, stacks and the rules for running them.

- ONE `PulumiCommand` (the CLI found by `engine.tools`) shared by every workspace;
- one persistent workspace directory per function stack (it holds the secrets salt);
- a bounded pool of threads for operations, and one operation at a time per stack;
- Pulumi's errors turned into `TargetError`s with the CLI's own `error:` lines.
"""

from __future__ import annotations

import importlib.metadata
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pulumi import automation as auto
from semver import VersionInfo

from engine.errors import StackLocked, TargetError, ToolMissing
from engine.kubernetes import names
from engine.kubernetes.layout import PulumiLayout
from engine.locks import ThreadKeyLocks
from engine.settings import Settings
from engine.tools import tool_env, tool_path

T = TypeVar("T")
Program = Callable[[], None]
APPLIED_HASH = f"{names.PROJECT}:appliedHash"
"""Stack config key holding the desired hash of the last `up` that succeeded."""
MAX_ERROR_LINES = 4


class StackService:
    def __init__(self, settings: Settings, max_workers: int | None = None) -> None:
        self.settings = settings
        self.layout = PulumiLayout.from_settings(settings)
        workers = max_workers or settings.max_concurrent_operations
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lc-pulumi")
        self._locks = ThreadKeyLocks()
        self._command: auto.PulumiCommand | None = None
        self._command_lock = threading.Lock()
        self._admin_lock = threading.Lock()

    # --- running ----------------------------------------------------------------------------
    def run(self, key: str, fn: Callable[[], T]) -> T:
        """Run `fn` in the pool, after every earlier operation on the same key finished."""
        with self._locks.hold(key):
            return self._pool.submit(fn).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the CLI and workspaces -------------------------------------------------------------
    def command(self) -> auto.PulumiCommand:
        with self._command_lock:
            if self._command is None:
                self._command = self._make_command()
            return self._command

    def _make_command(self) -> auto.PulumiCommand:
        binary = self.settings.pulumi_command or tool_path("pulumi")
        if binary.parent.name != "bin":
            raise ToolMissing(f"{binary} must be inside a `bin` directory (as installers put it)")
        version = VersionInfo.parse(importlib.metadata.version("pulumi"))
        try:
            return auto.PulumiCommand(root=str(binary.parent.parent), version=version)
        except (OSError, subprocess.CalledProcessError, auto.InvalidVersionError) as exc:
            raise ToolMissing(f"cannot use the pulumi CLI at {binary}: {exc}") from exc

    def env(self) -> dict[str, str]:
        tools = tool_env()
        return {
            "PATH": tools["PATH"],
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_CONFIG_PASSPHRASE": stack_passphrase(self.settings),
            "PULUMI_BACKEND_URL": self.layout.backend_url,
        }

    def workspace(
        self, work_dir: Path, program: Program | None = None, *, write_project: bool = True
    ) -> auto.LocalWorkspace:
        """A workspace on `work_dir`; `write_project=False` for readers that run beside an
        operation of the same stack (the project file is then only read)."""
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.layout.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        backend_dir = self.layout.backend_dir
        if backend_dir is not None:
            backend_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        project = auto.ProjectSettings(
            name=names.PROJECT,
            runtime="python",
            backend=auto.ProjectBackend(url=self.layout.backend_url),
        )
        return auto.LocalWorkspace(
            work_dir=str(work_dir),
            pulumi_home=str(self.layout.home),
            program=program,
            env_vars=self.env(),
            secrets_provider="passphrase",
            project_settings=project if write_project else None,
            pulumi_command=self.command(),
        )

    def function_workspace(self, key: str, program: Program | None = None) -> auto.LocalWorkspace:
        return self.workspace(self.layout.workspace(key), program or _no_program)

    def admin_workspace(self) -> auto.LocalWorkspace:
        with self._admin_lock:
            return self.workspace(self.layout.admin, _no_program)

    # --- stacks -----------------------------------------------------------------------------
    def select(self, key: str, program: Program | None = None) -> auto.Stack | None:
        """The function's stack, or None when it does not exist."""
        workspace = self.function_workspace(key, program)
        try:
            return FunctionStack(names.stack_name(key), workspace, create=False)
        except auto.StackNotFoundError:
            return None
        except auto.CommandError as exc:
            raise pulumi_failure("stack select", exc) from exc

    def create_or_select(self, key: str, program: Program) -> auto.Stack:
        """The stack to `up`: created when this workspace never had it (one CLI run, not the
        SDK's select-then-init), else selected; either way falls back to the other."""
        workspace = self.function_workspace(key, program)
        known = self.layout.stack_config_file(key).is_file()
        name = names.stack_name(key)
        try:
            try:
                return FunctionStack(name, workspace, create=not known)
            except (auto.StackNotFoundError, auto.StackAlreadyExistsError):
                return FunctionStack(name, workspace, create=known)
        except auto.CommandError as exc:
            raise pulumi_failure("stack init", exc) from exc

    def stack_keys(self) -> set[str]:
        """Keys of every function stack the backend holds."""
        try:
            stacks = self.admin_workspace().list_stacks()
        except auto.CommandError as exc:
            raise pulumi_failure("stack ls", exc) from exc
        keys = (names.key_of_stack(summary.name.rsplit("/", 1)[-1]) for summary in stacks)
        return {key for key in keys if key}

    def workspace_keys(self) -> set[str]:
        root = self.layout.workspaces
        if not root.is_dir():
            return set()
        return {
            d.name
            for d in root.iterdir()
            if d.is_dir() and names.key_of_stack(names.STACK_PREFIX + d.name)
        }

    def remove(self, key: str, stack: auto.Stack | None) -> None:
        """Forget the stack (it must be empty), its workspace and the backend's leftovers."""
        if stack is not None:
            try:
                stack.workspace.remove_stack(stack.name)
            except auto.StackNotFoundError:
                pass
            except auto.CommandError as exc:
                raise pulumi_failure("stack rm", exc) from exc
        logs = self.layout.logs_dir
        stack_logs = [logs / n for n in _names_in(logs) if self.layout.is_stack_log(key, n)]
        for path in [
            *self.layout.stack_leftovers(key),
            self.layout.home_workspace_file(key),
            *stack_logs,
        ]:
            _remove_path(path)
        shutil.rmtree(self.layout.workspace(key), ignore_errors=True)


class FunctionStack(auto.Stack):
    """A function stack as the target runs it: `up` and `destroy` read nothing back.

    The SDK's `up` reads the stack's outputs (two CLI runs) and its newest history entry (one
    more) to build its result, `destroy` the history entry; the target never looks at them, and
    each pulumi run costs half a second to a second on a busy node — most of a create's Pulumi
    part. Here they answer from nothing; everything else is the SDK's `Stack` (the target reads
    outputs through its workspace when it needs them)."""

    def __init__(self, name: str, workspace: auto.Workspace, *, create: bool) -> None:
        if create:
            workspace.create_stack(name)
        else:
            workspace.select_stack(name)
        self.name = name
        self.workspace = workspace
        self._mode = None  # type: ignore[assignment]  # the SDK's init mode; shown in repr only

    def outputs(self) -> auto.OutputMap:
        return {}

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        now = datetime.now(UTC)
        return auto.UpdateSummary(
            kind="update",
            start_time=now,
            message="",
            environment={},
            config={},
            result="succeeded",
            end_time=now,
        )


# --- the applied marker (stack config in the workspace, read and written without the CLI) -
def applied_hash(workspace: auto.Workspace, stack_name: str) -> str | None:
    config = _stack_settings(workspace, stack_name).config or {}
    value = config.get(APPLIED_HASH)
    return value if isinstance(value, str) else None


def set_applied_hash(workspace: auto.Workspace, stack_name: str, value: str | None) -> None:
    settings = _stack_settings(workspace, stack_name)
    config = dict(settings.config or {})
    if value is None:
        config.pop(APPLIED_HASH, None)
    else:
        config[APPLIED_HASH] = value
    settings.config = config or None
    workspace.save_stack_settings(stack_name, settings)


def _stack_settings(workspace: auto.Workspace, stack_name: str) -> auto.StackSettings:
    try:
        return workspace.stack_settings(stack_name)
    except FileNotFoundError:
        return auto.StackSettings()


# --- errors -------------------------------------------------------------------------------
def pulumi_failure(action: str, exc: auto.CommandError) -> TargetError:
    """A TargetError carrying the CLI's `error:` lines (not its whole output)."""
    text = str(exc)
    if isinstance(exc, auto.ConcurrentUpdateError) or "currently locked" in text:
        return StackLocked(f"pulumi {action}: the stack is locked by another update")
    lines = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    summary = "; ".join(dict.fromkeys(lines[:MAX_ERROR_LINES])) or text.strip()[-500:]
    return TargetError(f"pulumi {action} failed: {summary}", detail={"action": action})


def _names_in(directory: Path) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(directory)]
    except FileNotFoundError:
        return []


def _remove_path(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _no_program() -> None:
    """The program of operations that do not declare resources (destroy, stack commands)."""


PASSPHRASE_FILE = "pulumi.passphrase"  # noqa: S105 - a file name
_PASSPHRASE_LOCK = threading.Lock()


def stack_passphrase(settings: Settings) -> str:
    """The configured passphrase, else one generated into the data dir on first use (a
    passphrase written in the source would leave every stack's secrets readable)."""
    if settings.pulumi_passphrase:
        return settings.pulumi_passphrase
    path = settings.data_dir / PASSPHRASE_FILE
    with _PASSPHRASE_LOCK:
        if not path.is_file():
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial = path.with_suffix(".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
            partial.replace(path)  # whole or absent, even after a crash
        return path.read_text().strip()
