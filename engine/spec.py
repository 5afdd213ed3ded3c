"""The function's desired state, as frozen values.

Everything a target needs to provision a function is in a `FunctionSpec`; the spec hash is
what decides whether an update has anything to do (an unchanged hash never runs `up`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

RuntimeName = Literal["golang", "node", "python"]
RUNTIME_NAMES: tuple[RuntimeName, ...] = ("golang", "node", "python")

DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_MS = 3_000
DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True)
class RuntimeSpec:
    """One catalog entry: a runtime/version pair and how it runs."""

    runtime: RuntimeName
    version: str
    image: str
    default_code: str
    default_handler: str
    run_command: str
    disabled: bool = False

    @property
    def id(self) -> str:
        return f"{self.runtime}:{self.version}"


@dataclass(frozen=True)
class Limits:
    """Per-function resource settings, with Lambda's defaults."""

    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class FunctionSpec:
    """Desired state of one function revision: exactly what targets provision."""

    key: str
    name: str
    runtime: RuntimeName
    version: str
    handler: str
    code: str
    image: str
    env: tuple[tuple[str, str], ...] = ()
    limits: Limits = field(default_factory=Limits)

    @property
    def code_sha256(self) -> str:
        return sha256_text(self.code)

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def settings(self) -> dict[str, object]:
        """Everything but the code, for diffs and hashing (code enters by its hash)."""
        values = asdict(self)
        values.pop("code")
        values["code_sha256"] = self.code_sha256
        values["env"] = dict(self.env)
        return values

    @property
    def spec_hash(self) -> str:
        return sha256_text(json.dumps(self.settings(), sort_keys=True))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_env(env: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Env as a sorted tuple so that equal maps give equal specs and hashes."""
    return tuple(sorted((env or {}).items()))
