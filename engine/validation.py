"""Every rule a create or update must pass, as pure functions over plain values.

Validation runs before anything is written: a rejected request leaves the database untouched.
Each rejection is an `InvalidInput` with a stable `code` and the offending `field`, so clients
can react to it without parsing messages. A request's settings arrive as `Changes`: the flat
setting names of `FunctionConfig.merged` (`name`, `version`, `memory_mb`, …) that the request
gave, nothing for what it left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from engine.catalog import Catalog, RuntimeEntry, find_entry
from engine.errors import CodeTooLarge, InvalidInput, UnknownRuntime
from engine.spec import Env, FunctionConfig, FunctionSpec, Limits
from runtimes.registry import RuntimeName, UnknownRuntimeError, driver

Changes = Mapping[str, Any]

# Every pattern is used with `fullmatch`: `$` would also accept a trailing newline.
NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
NAME_MAX = 63
HANDLER_FILE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
HANDLER_MAX = 128
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_ENV_PREFIXES = ("AWS_", "LAMBDA_")
ENV_MAX_BYTES = 4 * 1024
LIMIT_RANGES = {"memory_mb": (64, 10_240), "timeout_ms": (1, 900_000), "concurrency": (1, 1_000)}
RUNTIME_FIELDS = frozenset({"runtime", "version"})


def validate_create(
    key: str,
    changes: Changes,
    code: str | bytes | None,
    catalog: Catalog,
    max_code_bytes: int,
) -> FunctionSpec:
    """A complete desired state for a new function, or the first rule it breaks."""
    if changes.get("name") is None:
        raise InvalidInput("name is required", field="name", code="missing_field")
    if code is None:
        raise InvalidInput("file (the code) is required", field="file", code="missing_field")
    runtime, version = changes.get("runtime"), changes.get("version")
    entry = pick_runtime(catalog.entries, catalog.default, runtime, version)
    base = FunctionConfig("", entry.runtime, entry.version, entry.default_handler)
    settings = {k: v for k, v in changes.items() if k not in RUNTIME_FIELDS}
    if not settings.get("handler"):
        settings.pop("handler", None)
    config = checked(base.merged(settings))
    text = check_code(code, max_code_bytes)
    return FunctionSpec(key, config, text, entry.image, entry.run_command)


def validate_update(
    current: FunctionSpec,
    changes: Changes,
    code: str | bytes | None,
    catalog: Sequence[RuntimeEntry],
    max_code_bytes: int,
) -> FunctionSpec:
    """`current` with the given settings replaced. A runtime change without a handler moves a
    default handler to the new runtime's default; a custom handler is kept."""
    entry = _updated_runtime(current, changes, catalog)
    settings = {k: v for k, v in changes.items() if k not in RUNTIME_FIELDS}
    if "handler" not in settings:
        old = find_entry(catalog, current.runtime, current.runtime_version)
        keep_default = old is not None and current.handler == old.default_handler
        settings["handler"] = entry.default_handler if keep_default else current.handler
    base = FunctionConfig(
        current.name, entry.runtime, entry.version, current.handler, current.env, current.limits
    )
    config = checked(base.merged(settings))
    text = check_code(code, max_code_bytes) if code is not None else current.code
    return FunctionSpec(current.key, config, text, entry.image, entry.run_command)


def _updated_runtime(
    current: FunctionSpec, changes: Changes, catalog: Sequence[RuntimeEntry]
) -> RuntimeEntry:
    runtime = changes.get("runtime", current.runtime)
    version = changes.get("version", current.runtime_version)
    if "runtime" in changes and "version" not in changes and runtime != current.runtime:
        return pick_runtime(catalog, None, runtime, None)
    return resolve_runtime(catalog, runtime, version)


def checked(config: FunctionConfig) -> FunctionConfig:
    """`config`, once each of its settings passes its rule."""
    check_name(config.name)
    check_handler(config.handler, config.runtime)
    check_env(config.env)
    check_limits(config.limits)
    return config


def check_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"name {name!r} must be a DNS label: at most {NAME_MAX} lowercase letters, digits"
            " or '-', starting and ending with a letter or digit",
            field="name",
            code="invalid_name",
        )
    return name


def check_code(code: str | bytes, max_bytes: int) -> str:
    raw = code.encode("utf-8") if isinstance(code, str) else code
    if len(raw) > max_bytes:
        raise CodeTooLarge(len(raw), max_bytes)
    if not raw.strip():
        raise InvalidInput("code is empty", field="file", code="empty_code")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("code is not UTF-8 text", field="file", code="invalid_code") from exc


def check_handler(handler: object, runtime: RuntimeName) -> str:
    """`file.function`, where the function is one the runtime's wrapper can load."""
    text = handler if isinstance(handler, str) else ""
    file, _, function = text.rpartition(".")
    if len(text) > HANDLER_MAX or not HANDLER_FILE_RE.fullmatch(file):
        raise InvalidInput(
            f"handler {handler!r} must look like 'file.function' (e.g. index.handler)",
            field="handler",
            code="invalid_handler",
        )
    if not driver(runtime).is_function_name(function):
        raise InvalidInput(
            f"handler {handler!r}: {function!r} is not a function name {runtime} can load",
            field="handler",
            code="invalid_handler",
        )
    return text


def check_env(env: Env) -> Env:
    for name, value in env:
        _check_env_var(name, value)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env)
    if size > ENV_MAX_BYTES:
        raise InvalidInput(
            f"environment is {size} bytes; the limit is {ENV_MAX_BYTES}",
            field="env",
            code="env_too_large",
        )
    return env


def _check_env_var(name: str, value: str) -> None:
    if not ENV_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"environment variable name {name!r} must match [A-Za-z_][A-Za-z0-9_]*",
            field=f"env.{name}",
            code="invalid_env",
        )
    if name.upper().startswith(RESERVED_ENV_PREFIXES):
        raise InvalidInput(
            f"environment variable {name!r} is reserved (AWS_* and LAMBDA_* are the platform's)",
            field=f"env.{name}",
            code="reserved_env",
        )
    if "\x00" in value:
        raise InvalidInput(
            f"environment variable {name!r} contains a NUL character, which no process"
            " environment can hold",
            field=f"env.{name}",
            code="invalid_env",
        )


def check_limits(limits: Limits) -> Limits:
    for name, (low, high) in LIMIT_RANGES.items():
        value = getattr(limits, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{name} must be between {low} and {high}", field=name, code="invalid_limit"
            )
    return limits


def resolve_runtime(catalog: Sequence[RuntimeEntry], runtime: str, version: str) -> RuntimeEntry:
    """The enabled catalog entry for `runtime`/`version`; disabled counts as unknown."""
    entry = find_entry(catalog, runtime, version)
    if entry is None or entry.disabled:
        raise UnknownRuntime(runtime, version)
    try:
        driver(entry.runtime)
    except UnknownRuntimeError as exc:  # a catalog entry no installed runtime serves
        raise UnknownRuntime(runtime, version) from exc
    return entry


def pick_runtime(
    catalog: Sequence[RuntimeEntry],
    default: RuntimeEntry | None,
    runtime: str | None,
    version: str | None,
) -> RuntimeEntry:
    """Runtime and version may be omitted (the default) or version alone omitted (the only
    enabled version of that runtime); a version without a runtime is ambiguous."""
    if runtime is None and version is None:
        if default is None:
            raise InvalidInput(
                "no default runtime is configured: give runtime and version",
                field="runtime",
                code="missing_field",
            )
        return default
    if runtime is None:
        raise InvalidInput("version given without runtime", field="runtime", code="missing_field")
    if version is None:
        versions = [e for e in catalog if e.runtime == runtime and not e.disabled]
        if len(versions) == 1:
            return versions[0]
        raise InvalidInput(
            f"runtime {runtime} needs a version (see GET /lambda/runtimes)",
            field="version",
            code="missing_field",
        )
    return resolve_runtime(catalog, runtime, version)
