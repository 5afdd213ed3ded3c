"""Every rule a create or update must pass, as pure functions over plain values.

Validation runs before anything is written: a rejected request leaves the database untouched.
Each rejection is an `InvalidInput` with a stable `code` and the offending `field`, so clients
can react to it without parsing messages.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import CodeTooLarge, InvalidInput, UnknownRuntime
from engine.spec import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_MS,
    FunctionSpec,
    Limits,
    RuntimeSpec,
    normalize_env,
)

# Every pattern is used with `fullmatch`: `$` would also accept a trailing newline.
NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
NAME_MAX = 63
HANDLER_FILE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
HANDLER_MAX = 128
JS_IDENTIFIER_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
GO_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What runtimes/launch.py (and the image's entrypoint.sh) accept as the Go function."""
GO_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ]
)
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_ENV_PREFIXES = ("AWS_", "LAMBDA_")
ENV_MAX_BYTES = 4 * 1024
MEMORY_RANGE = (64, 10_240)
TIMEOUT_RANGE = (1, 900_000)
CONCURRENCY_RANGE = (1, 1_000)


@dataclass(frozen=True)
class FunctionInput:
    """What a create or update asked for; `None` means "not given" (keep / default)."""

    name: str | None = None
    code: str | bytes | None = None
    runtime: str | None = None
    version: str | None = None
    handler: str | None = None
    env: Mapping[str, str] | None = None
    memory_mb: int | None = None
    timeout_ms: int | None = None
    concurrency: int | None = None


@dataclass(frozen=True)
class Draft:
    """A validated desired state, ready to become a `FunctionSpec` once it has a key."""

    name: str
    runtime: RuntimeSpec
    handler: str
    code: str
    env: tuple[tuple[str, str], ...]
    limits: Limits

    def spec(self, key: str) -> FunctionSpec:
        return FunctionSpec(
            key=key,
            name=self.name,
            runtime=self.runtime.runtime,
            version=self.runtime.version,
            handler=self.handler,
            code=self.code,
            image=self.runtime.image,
            env=self.env,
            limits=self.limits,
        )


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not NAME_RE.fullmatch(name):
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


def check_handler(handler: str, runtime: str) -> str:
    """`file.function`, where the function is one the runtime's wrapper can load."""
    file, _, function = handler.rpartition(".")
    if len(handler) > HANDLER_MAX or not HANDLER_FILE_RE.fullmatch(file):
        raise InvalidInput(
            f"handler {handler!r} must look like 'file.function' (e.g. index.handler)",
            field="handler",
            code="invalid_handler",
        )
    if not _is_function_name(runtime, function):
        raise InvalidInput(
            f"handler {handler!r}: {function!r} is not a function name {runtime} can load",
            field="handler",
            code="invalid_handler",
        )
    return handler


def _is_function_name(runtime: str, function: str) -> bool:
    """python: an identifier that is not a keyword (ASCII, as the file name); node: a JS
    identifier (`default` is fine, it names a module's default export); golang: an ASCII
    identifier that is not a keyword, as the build accepts it."""
    if runtime == "python":
        return function.isascii() and function.isidentifier() and not keyword.iskeyword(function)
    if runtime == "node":
        return JS_IDENTIFIER_RE.fullmatch(function) is not None
    if runtime == "golang":
        return GO_IDENTIFIER_RE.fullmatch(function) is not None and function not in GO_KEYWORDS
    return False


def check_env(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    for name, value in env.items():
        if not ENV_NAME_RE.fullmatch(name):
            raise InvalidInput(
                f"environment variable name {name!r} must match [A-Za-z_][A-Za-z0-9_]*",
                field=f"env.{name}",
                code="invalid_env",
            )
        if name.upper().startswith(RESERVED_ENV_PREFIXES):
            raise InvalidInput(
                f"environment variable {name!r} is reserved (AWS_* and LAMBDA_* are the"
                " platform's)",
                field=f"env.{name}",
                code="reserved_env",
            )
        if not isinstance(value, str):
            raise InvalidInput(
                f"environment variable {name!r} must be a string",
                field=f"env.{name}",
                code="invalid_env",
            )
        if "\x00" in value:
            raise InvalidInput(
                f"environment variable {name!r} contains a NUL character, which no process"
                " environment can hold",
                field=f"env.{name}",
                code="invalid_env",
            )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if size > ENV_MAX_BYTES:
        raise InvalidInput(
            f"environment is {size} bytes; the limit is {ENV_MAX_BYTES}",
            field="env",
            code="env_too_large",
        )
    return normalize_env(dict(env))


def _in_range(value: int, bounds: tuple[int, int], field: str) -> int:
    low, high = bounds
    if isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(
            f"{field} must be between {low} and {high}", field=field, code="invalid_limit"
        )
    return value


def check_limits(memory_mb: int, timeout_ms: int, concurrency: int) -> Limits:
    return Limits(
        memory_mb=_in_range(memory_mb, MEMORY_RANGE, "memory_mb"),
        timeout_ms=_in_range(timeout_ms, TIMEOUT_RANGE, "timeout_ms"),
        concurrency=_in_range(concurrency, CONCURRENCY_RANGE, "concurrency"),
    )


def resolve_runtime(catalog: Sequence[RuntimeSpec], runtime: str, version: str) -> RuntimeSpec:
    """The enabled catalog entry for `runtime`/`version`; disabled counts as unknown."""
    for entry in catalog:
        if entry.runtime == runtime and entry.version == version and not entry.disabled:
            return entry
    raise UnknownRuntime(runtime, version)


def _pick_runtime(
    catalog: Sequence[RuntimeSpec],
    default: RuntimeSpec | None,
    runtime: str | None,
    version: str | None,
) -> RuntimeSpec:
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


def validate_create(
    given: FunctionInput,
    catalog: Sequence[RuntimeSpec],
    default: RuntimeSpec | None,
    max_code_bytes: int,
) -> Draft:
    """A complete desired state for a new function, or the first rule it breaks."""
    if given.name is None:
        raise InvalidInput("name is required", field="name", code="missing_field")
    if given.code is None:
        raise InvalidInput("file (the code) is required", field="file", code="missing_field")
    entry = _pick_runtime(catalog, default, given.runtime, given.version)
    return Draft(
        name=check_name(given.name),
        runtime=entry,
        handler=check_handler(given.handler or entry.default_handler, entry.runtime),
        code=check_code(given.code, max_code_bytes),
        env=check_env(given.env or {}),
        limits=check_limits(
            given.memory_mb if given.memory_mb is not None else DEFAULT_MEMORY_MB,
            given.timeout_ms if given.timeout_ms is not None else DEFAULT_TIMEOUT_MS,
            given.concurrency if given.concurrency is not None else DEFAULT_CONCURRENCY,
        ),
    )


def validate_update(
    current: FunctionSpec,
    given: FunctionInput,
    catalog: Sequence[RuntimeSpec],
    max_code_bytes: int,
) -> Draft:
    """`current` with the given fields replaced. A runtime change without a handler moves a
    default handler to the new runtime's default; a custom handler is kept."""
    runtime = given.runtime if given.runtime is not None else current.runtime
    version = given.version if given.version is not None else current.version
    if given.runtime is not None and given.version is None and runtime != current.runtime:
        entry = _pick_runtime(catalog, None, runtime, None)
    else:
        entry = resolve_runtime(catalog, runtime, version)
    old_entry = next(
        (e for e in catalog if (e.runtime, e.version) == (current.runtime, current.version)), None
    )
    handler = given.handler
    if handler is None:
        keep_default = old_entry is not None and current.handler == old_entry.default_handler
        handler = entry.default_handler if keep_default else current.handler
    limits = current.limits
    return Draft(
        name=check_name(given.name) if given.name is not None else current.name,
        runtime=entry,
        handler=check_handler(handler, entry.runtime),
        code=check_code(given.code, max_code_bytes) if given.code is not None else current.code,
        env=check_env(given.env) if given.env is not None else current.env,
        limits=check_limits(
            given.memory_mb if given.memory_mb is not None else limits.memory_mb,
            given.timeout_ms if given.timeout_ms is not None else limits.timeout_ms,
            given.concurrency if given.concurrency is not None else limits.concurrency,
        ),
    )
