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
from dataclasses import replace
from typing import Any, NoReturn

from engine import package
from engine.catalog import Catalog, RuntimeEntry, find_entry
from engine.env_rules import check_env
from engine.errors import CodeTooLarge, InvalidInput, PackageRefused, UnknownRuntime
from engine.spec import FunctionConfig, FunctionSpec, Limits, Routes
from runtimes.contract import EVENT_FORMATS, parse_routes
from runtimes.registry import RuntimeName, UnknownRuntimeError, driver

Changes = Mapping[str, Any]

# Every pattern is used with `fullmatch`: `$` would also accept a trailing newline.
NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
NAME_MAX = 63
HANDLER_FILE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
HANDLER_MAX = 128
LIMIT_RANGES = {"memory_mb": (64, 10_240), "timeout_ms": (1, 900_000), "concurrency": (1, 1_000)}
TITLE_MAX = 200
INVOKE_AUTH = ("none", "token")
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
    text = check_handler_file(check_code(code, max_code_bytes), config.handler)
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
    base = replace(current.config, runtime=entry.runtime, runtime_version=entry.version)
    config = checked(base.merged(settings))
    text = check_code(code, max_code_bytes) if code is not None else current.code
    check_handler_file(text, config.handler)
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
    both = sorted(set(config.env.names()) & set(config.secrets.names()))
    if both:
        why = f"{both[0]!r} is both a plain and a secret variable: keep one"
        raise InvalidInput(why, field=f"secrets.{both[0]}", code="invalid_secret")
    check_limits(config.limits)
    check_title(config.title)
    check_choice("convention", config.convention, driver(config.runtime).conventions)
    check_choice("auth", config.auth, INVOKE_AUTH)
    check_choice("event_format", config.event_format, EVENT_FORMATS)
    check_routes(config.routes)
    return config


def check_routes(routes: Routes) -> Routes:
    """Route templates API Gateway would take (`runtimes.contract.parse_routes`)."""
    try:
        parse_routes(routes.items)
    except ValueError as exc:
        raise InvalidInput(f"routes: {exc}", field="routes", code="invalid_route") from exc
    return routes


def check_title(title: object) -> str:
    """Free text, one line: what the console lists (control characters would break it)."""
    if not isinstance(title, str) or len(title) > TITLE_MAX or not title.isprintable():
        why = f"title must be at most {TITLE_MAX} printable characters"
        raise InvalidInput(why, field="title", code="invalid_title")
    return title


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(
            f"{field} must be one of {', '.join(allowed)}", field=field, code=f"invalid_{field}"
        )
    return value


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
    """A single source file (UTF-8 text, at most `max_bytes`), or a zip archive (bytes that
    start like one), read under the package limits and encoded as `engine.package` says."""
    if isinstance(code, bytes) and package.is_archive(code):
        return package.read(code).encode()
    raw = code.encode("utf-8") if isinstance(code, str) else code
    if len(raw) > max_bytes:
        raise CodeTooLarge(len(raw), max_bytes)
    if not raw.strip():
        raise InvalidInput("code is empty", field="file", code="empty_code")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("code is not UTF-8 text", field="file", code="invalid_code") from exc
    if "\x00" in text:  # no source file of any runtime holds one: binary, or an attack
        raise InvalidInput("code contains a NUL character", field="file", code="invalid_code")
    if package.is_package(text):  # only a zip upload becomes a package
        raise InvalidInput("code cannot start like a package", field="file", code="invalid_code")
    return text


def check_handler_file(code: str, handler: str) -> str:
    """A package must hold its handler's file (`src/app.py` for `src/app.handler`)."""
    if package.is_package(code):
        file, _, _ = handler.rpartition(".")
        if not package.has_handler_file(package.manifest(code), file):
            why = f"the package has no file for handler {handler!r} ({file}.*)"
            raise PackageRefused(why, code="package_no_handler", path=file)
    return code


def check_handler(handler: object, runtime: RuntimeName) -> str:
    """`file.function`, `file` possibly in folders (`src/functions/hello.handler`): each
    segment of `file` names the function's own code (not a module the language already has,
    such as Python's `os`), `function` an identifier the runtime's wrapper can load; none may
    be a `__dunder__` (the language's internals, `__import__`, `__proto__`)."""
    text = handler if isinstance(handler, str) else ""
    file, _, function = text.rpartition(".")
    segments = file.split("/")
    rules = driver(runtime)
    if len(text) > HANDLER_MAX or not all(HANDLER_FILE_RE.fullmatch(s) for s in segments):
        _bad_handler(handler, "must look like 'file.function' (e.g. index.handler)")
    if function.startswith("__") or any(s.startswith("__") for s in segments):
        _bad_handler(handler, "names the language's internals, not the function's code")
    for segment in segments:
        if not rules.is_module_name(segment):
            why = f"{segment!r} is a module {runtime} already has: rename it"
            _bad_handler(handler, why)
    if not rules.is_function_name(function):
        _bad_handler(handler, f"{function!r} is not a function name {runtime} can load")
    return text


def _bad_handler(handler: object, why: str) -> NoReturn:
    raise InvalidInput(f"handler {handler!r} {why}", field="handler", code="invalid_handler")


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
            why = "no default runtime is configured: give runtime and version"
            raise InvalidInput(why, field="runtime", code="missing_field")
        return default
    if runtime is None:
        raise InvalidInput("version given without runtime", field="runtime", code="missing_field")
    if version is None:
        versions = [e for e in catalog if e.runtime == runtime and not e.disabled]
        if len(versions) == 1:
            return versions[0]
        why = f"runtime {runtime} needs a version (see GET /lambda/runtimes)"
        raise InvalidInput(why, field="version", code="missing_field")
    return resolve_runtime(catalog, runtime, version)
