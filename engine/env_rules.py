"""The rules for a function's environment variables, plain and secret: the names (Lambda's
reserved ones and what would break a worker here), NUL-free values, and Lambda's 4 KB for all
of them together. Pure; each refusal an `InvalidInput` with a stable code."""

from __future__ import annotations

import re
from collections.abc import Mapping

from engine.errors import InvalidInput
from engine.spec import Env

# Used with `fullmatch`: `$` would also accept a trailing newline.
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_MAX_BYTES = 4 * 1024
RESERVED_ENV: tuple[tuple[str, str], ...] = (
    # AWS Lambda's reserved variables: the platform sets them.
    ("_HANDLER", "the handler: use the `handler` setting"),
    ("_X_AMZN_TRACE_ID", "the tracing header of each invocation"),
    ("AWS_EXECUTION_ENV AWS_LAMBDA_*", "the runtime, the function's name, version, memory…"),
    ("LAMBDA_*", "LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR and the worker contract (LAMBDA_HANDLER…)"),
    # What would break a worker here, or change which code it runs.
    ("LAMBDACLONE_*", "the control plane's own settings"),
    ("PORT HOST", "where the wrapper listens"),
    ("PATH", "how the runtime and its tools are found"),
    ("LD_*", "the dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH): code in every process"),
    (
        "PYTHONPATH PYTHONHOME PYTHONSAFEPATH PYTHONUSERBASE PYTHONPLATLIBDIR PYTHONEXECUTABLE",
        "which Python runs and where it imports from: the function's code and packages only",
    ),
    ("PYTHONPYCACHEPREFIX PYTHONDONTWRITEBYTECODE", "the bytecode cache: the platform's"),
    ("NODE_OPTIONS", "node's own flags (--require, --import, --inspect): code before the wrapper"),
    ("NODE_PATH", "where node finds modules: the function's own only"),
)
"""Names (space separated; `*` ends a prefix) that a function's variables, plain or secret,
cannot have, compared without case (docs/api.md shows this table). AWS_REGION,
AWS_DEFAULT_REGION and the AWS credentials, reserved by Lambda, are allowed: nothing here sets
them from an execution role (`aws_region` is the default region) and SDK calls need them."""


def check_env(env: Env) -> Env:
    for name, value in env:
        _check_env_var(name, value, "env")
    check_environment_size(env.as_dict())
    return env


def check_secret_updates(updates: object) -> dict[str, str | None]:
    """`secrets` of a request: names → values (or null: remove it), with env's name rules.
    Messages name the variable, never its value."""
    if not isinstance(updates, dict):
        raise InvalidInput("secrets must be an object", field="secrets", code="invalid_secret")
    for name, value in updates.items():
        if value is not None and not isinstance(value, str):
            why = f"secret {name!r} must be a string (or null to remove it)"
            raise InvalidInput(why, field=f"secrets.{name}", code="invalid_secret")
        _check_env_var(str(name), value or "", "secrets")
    return {str(name): value for name, value in updates.items()}


def check_environment_size(values: Mapping[str, str]) -> None:
    """Lambda's rule: 4 KB for all of a function's variables, secret ones included."""
    size = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if size > ENV_MAX_BYTES:
        why = f"environment is {size} bytes; the limit is {ENV_MAX_BYTES}"
        raise InvalidInput(why, field="env", code="env_too_large")


def _check_env_var(name: str, value: str, field: str) -> None:
    code, why = ("invalid_env" if field == "env" else "invalid_secret"), ""
    if not ENV_NAME_RE.fullmatch(name):
        why = "must be named like [A-Za-z_][A-Za-z0-9_]*"
    elif reason := reserved_env(name):
        code, why = "reserved_env", f"is reserved: {reason}"
    elif "\x00" in value:
        why = "contains a NUL character, which no process environment can hold"
    if why:
        message = f"environment variable {name!r} {why}"
        raise InvalidInput(message, field=f"{field}.{name}", code=code)


def reserved_env(name: str) -> str | None:
    """Why `name` is the platform's (see RESERVED_ENV), or None when a function may set it."""
    upper = name.upper()
    for patterns, reason in RESERVED_ENV:
        for pattern in patterns.split():
            if upper == pattern or (pattern[-1] == "*" and upper.startswith(pattern[:-1])):
                return reason
    return None
