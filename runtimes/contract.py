"""The process contract every wrapper follows (runtimes/README.md), as constants and one pure
function: what a worker is told through its environment and where it answers its health check.

The local target, the Kubernetes target and the test harness all start wrappers through
`worker_env`, so a worker cannot tell which of them started it. Standard library only: the
Python wrapper imports this module too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

HEALTH_PATH = "/__lambdaclone/health"
"""Answered by every wrapper itself (the readiness probe), so never an invocation."""
DEFAULT_HANDLER = "handler.handler"
"""`file.function`: every default code file is `handler.<ext>` exporting `handler`."""
FUNCTION_VERSION = "$LATEST"
"""What `AWS_LAMBDA_FUNCTION_VERSION` and the START lines say: unpublished code, as in Lambda."""
CONVENTIONS = ("auto", "original", "lambda")
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_MS = 3_000


def split_handler(handler: str) -> tuple[str, str]:
    """`file.function` → (`file`, `function`); the file part may hold dots of its own."""
    file, _, function = handler.rpartition(".")
    if not file or not function:
        raise ValueError(f"handler {handler!r} must look like file.function")
    return file, function


def worker_env(
    *,
    port: int,
    code_dir: Path,
    handler: str,
    function_name: str,
    function_key: str,
    memory_mb: int,
    timeout_ms: int,
    host: str = "127.0.0.1",
    path_prefix: str = "",
    convention: str = "auto",
    version: str = FUNCTION_VERSION,
    user_env: Mapping[str, str] | None = None,
    pycache_dir: Path | None = None,
) -> dict[str, str]:
    """The wrapper's environment variables; overlay them on a base env (PATH, HOME, ...).

    `user_env` (the function's own variables) comes first so it cannot override ours.
    `pycache_dir` turns bytecode caching back on (into that directory) for a Python worker
    started from an environment with PYTHONDONTWRITEBYTECODE set: without it every cold start
    recompiles Flask from source (~300 ms instead of ~120 ms).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    env = dict(user_env or {})
    env.update(
        PORT=str(port),
        HOST=host,
        LAMBDA_CODE_DIR=str(code_dir),
        LAMBDA_HANDLER=handler,
        LAMBDA_FUNCTION_NAME=function_name,
        LAMBDA_FUNCTION_KEY=function_key,
        LAMBDA_FUNCTION_VERSION=version,
        LAMBDA_MEMORY_MB=str(memory_mb),
        LAMBDA_TIMEOUT_MS=str(timeout_ms),
        LAMBDA_PATH_PREFIX=path_prefix,
        LAMBDA_CONVENTION=convention,
    )
    if pycache_dir is not None:
        env.update(bytecode_env(pycache_dir))
    return env


def bytecode_env(pycache_dir: Path) -> dict[str, str]:
    """Bytecode caching into `pycache_dir`, whatever the inherited environment says."""
    return {"PYTHONPYCACHEPREFIX": str(pycache_dir), "PYTHONDONTWRITEBYTECODE": ""}
