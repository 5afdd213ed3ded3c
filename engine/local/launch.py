"""The values that start one worker: a `Launch` (what to run, for which function) and a
`Spare` (a worker started before it knew its function). Plain data: no I/O here."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.local.orphans import Mark
from engine.local.sandbox import BoxRequest, Sandbox, SandboxHost


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one worker of one deployment."""

    key: str
    runtime: str
    deployment: str
    instance: str
    host: str
    port: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    box: BoxRequest | None = None
    box_host: SandboxHost | None = None
    use_spare: bool = False

    @property
    def boxed(self) -> bool:
        return self.box is not None and self.box_host is not None


@dataclass(eq=False)
class Spare:
    """A pre-started worker waiting on stdin for its configuration (engine/local/spares.py)."""

    popen: subprocess.Popen[bytes]
    mark: Mark
    box: Sandbox | None = None
    task_dir: Path | None = None
    """A sandboxed spare's empty code directory, bound at /var/task."""


def new_worker_id() -> str:
    """A worker's id in its recovery marker and cgroup name: short, unique per instance."""
    return secrets.token_hex(6)
