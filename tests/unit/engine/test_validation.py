from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import Catalog, RuntimeEntry
from engine.env_rules import RESERVED_ENV, check_env, check_secret_updates, reserved_env
from engine.errors import CodeTooLarge, InvalidInput, UnknownRuntime
from engine.spec import Env, FunctionConfig, FunctionSpec, Limits, SealedValue, Secrets
from engine.validation import (
    check_code,
    check_handler,
    check_limits,
    check_name,
    validate_create,
    validate_update,
)
from runtimes.registry import RuntimeName

NODE = RuntimeEntry(RuntimeName("node"), "20", "img/node:20", "// node", "handler.handler", "n")
PY = RuntimeEntry(RuntimeName("python"), "3.12", "img/py:3.12", "# py", "handler.handler", "p")
PY_OLD = replace(PY, version="3.9", image="img/py:3.9", disabled=True)
ENTRIES = (NODE, PY, PY_OLD)
CATALOG = Catalog(ENTRIES, NODE)


def codes(fn: object, *args: object) -> str:
    with pytest.raises(InvalidInput) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


def create(
    code: str | bytes | None = "x", catalog: Catalog = CATALOG, **changes: Any
) -> FunctionSpec:
    return validate_create("k", {"name": "f", **changes}, code, catalog, 100)


def create_code(**changes: Any) -> str:
    with pytest.raises(InvalidInput) as info:
        create(**changes)
    return info.value.code


@pytest.mark.parametrize("name", ["a", "hello", "my-fn-2", "0", "a" * 63])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "A", "a_b", "a.b", "a" * 64, "é", "trail\n", "a\nb", "x\x00", 7]
)
def test_bad_names(name: object) -> None:
    assert codes(check_name, name) == "invalid_name"


@pytest.mark.parametrize(
    ("runtime", "handler"),
    [
        ("node", "index.handler"),
        ("node", "handler.handler"),
        ("node", "my-file.run_it"),
        ("node", "a.$x"),
        ("node", "handler.default"),  # an ES module's default export
        ("python", "handler.handler"),
        ("python", "my_module.run_it"),
        ("python", "main._private"),
        ("golang", "handler.handler"),
        ("golang", "handler.Serve2"),
    ],
)
def test_good_handlers(runtime: str, handler: str) -> None:
    assert check_handler(handler, RuntimeName(runtime)) == handler


@pytest.mark.parametrize(
    ("runtime", "handler"),
    [
        *[
            (runtime, handler)
            for runtime in ("node", "python", "golang")
            for handler in (
                "index",
                ".handler",
                "index.",
                "a/../b.c",
                "a//b.c",
                "a.b.c",
                "1.x",
                "handler.handler\n",
                "handler\n.handler",
                "handler.han dler",
                "handler.x\x00",
                "handler." + "x" * 200,
            )
        ],
        ("node", "handler.1x"),
        ("node", "handler.a-b"),
        ("python", "handler.$x"),
        ("python", "handler.class"),
        ("python", "handler.None"),
        ("python", "handler.fünf"),
        ("golang", "handler.$x"),
        ("golang", "handler.func"),
        ("golang", "handler.héllo"),
    ],
)
def test_bad_handlers(runtime: str, handler: str) -> None:
    assert codes(check_handler, handler, RuntimeName(runtime)) == "invalid_handler"


@pytest.mark.parametrize("runtime", ["node", "python", "golang"])
@pytest.mark.parametrize(
    "handler", ["handler.__import__", "handler.__proto__", "__main__.handler", "__init__.x"]
)
def test_dunder_handlers_are_refused(runtime: str, handler: str) -> None:
    assert codes(check_handler, handler, RuntimeName(runtime)) == "invalid_handler"


@pytest.mark.parametrize(
    ("runtime", "handler"),
    [
        ("python", "os.system"),  # `import os` finds the interpreter's own os
        ("python", "subprocess.call"),
        ("python", "json.handler"),
        ("python", "runtimes.handler"),  # the wrapper's package
        ("node", "index.constructor"),  # every exports object has one
        ("node", "index.toString"),
        ("golang", "handler.main"),
        ("golang", "handler.panic"),
        ("golang", "handler.lcInvoke"),  # the wrapper's own names
    ],
)
def test_handlers_that_reach_into_the_language_are_refused(runtime: str, handler: str) -> None:
    assert codes(check_handler, handler, RuntimeName(runtime)) == "invalid_handler"


@pytest.mark.parametrize(
    ("runtime", "handler"),
    [
        ("python", "lambda_function.lambda_handler"),
        ("python", "app.main"),
        ("node", "index.handler"),
        ("node", "handler.default"),
        ("golang", "handler.Serve2"),
    ],
)
def test_what_real_functions_name_passes(runtime: str, handler: str) -> None:
    assert check_handler(handler, RuntimeName(runtime)) == handler


def test_a_handler_is_checked_for_its_runtime_on_create_and_update() -> None:
    assert create_code(runtime="python", handler="handler.def") == "invalid_handler"
    node_only = replace(CURRENT, config=replace(CURRENT.config, handler="handler.$main"))
    move = {"runtime": "python", "version": "3.12"}
    assert codes(validate_update, node_only, move, None, ENTRIES, 100) == "invalid_handler"


def test_env_rules() -> None:
    assert check_env(Env.of({"B": "2", "A": "1"})).items == (("A", "1"), ("B", "2"))
    assert codes(check_env, Env.of({"1A": "x"})) == "invalid_env"
    assert codes(check_env, Env.of({"A-B": "x"})) == "invalid_env"
    assert codes(check_env, Env.of({"AWS_LAMBDA_FUNCTION_NAME": "x"})) == "reserved_env"
    assert codes(check_env, Env.of({"Lambda_Task": "x"})) == "reserved_env"
    assert check_env(Env.of({"AWS_REGION": "x"})).names() == ("AWS_REGION",)
    assert codes(check_env, Env.of({"BIG": "x" * 5000})) == "env_too_large"


@pytest.mark.parametrize(
    "env", [{"A\n": "x"}, {"\nA": "x"}, {"A\x00": "x"}, {"A": "x\x00y"}, {"A": "\x00"}]
)
def test_env_names_and_values_are_checked_whole(env: dict[str, str]) -> None:
    assert codes(check_env, Env.of(env)) == "invalid_env"


@pytest.mark.parametrize(
    ("memory", "timeout", "concurrency", "ok"),
    [
        (64, 1, 1, True),
        (10_240, 900_000, 1000, True),
        (63, 1, 1, False),
        (10_241, 1, 1, False),
        (128, 0, 1, False),
        (128, 900_001, 1, False),
        (128, 1, 0, False),
        (128, 1, 1001, False),
        (True, 1, 1, False),
        ("128", 1, 1, False),
    ],
)
def test_limits(memory: Any, timeout: int, concurrency: int, ok: bool) -> None:
    limits = Limits(memory, timeout, concurrency)
    if ok:
        assert check_limits(limits) == limits
    else:
        assert codes(check_limits, limits) == "invalid_limit"


def test_create_defaults() -> None:
    spec = create()
    assert (spec.runtime, spec.runtime_version, spec.handler) == ("node", "20", "handler.handler")
    assert (spec.image, spec.run_command) == (NODE.image, NODE.run_command)
    assert spec.limits == Limits() and spec.env == Env()
    assert create(runtime="python").image == PY.image


def test_create_runtime_rules() -> None:
    with pytest.raises(UnknownRuntime):
        create(runtime="python", version="3.9")
    with pytest.raises(UnknownRuntime):
        create(runtime="ruby", version="3")
    assert codes(create, "x", Catalog(ENTRIES, None)) == "missing_field"
    assert create_code(version="20") == "missing_field"


@pytest.mark.parametrize(
    "name",
    [
        *("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME"),
        *("LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "LAMBDA_HANDLER", "LAMBDACLONE_X"),
        *("PORT", "HOST", "PATH", "LD_PRELOAD", "LD_AUDIT", "PYTHONPATH", "PYTHONHOME"),
        *("PYTHONSAFEPATH", "PYTHONPYCACHEPREFIX", "NODE_OPTIONS", "NODE_PATH", "path"),
    ],
)
def test_reserved_names(name: str) -> None:
    assert reserved_env(name)
    assert codes(check_env, Env.of({name: "x"})) == "reserved_env"
    assert codes(check_secret_updates, {name: "x"}) == "reserved_env"


@pytest.mark.parametrize(
    "name",
    [
        *("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        *("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_XRAY_CONTEXT_MISSING", "NODE_ENV"),
        *("NODE_EXTRA_CA_CERTS", "PYTHONUNBUFFERED", "PYTHONWARNINGS", "GOMAXPROCS", "GODEBUG"),
        *("TZ", "LANG", "LC_ALL", "HOME", "TMPDIR", "PORTAL", "MY_PATH", "HOSTNAME_PREFIX"),
    ],
)
def test_names_a_function_may_set(name: str) -> None:
    assert reserved_env(name) is None
    assert check_env(Env.of({name: "x"})).names() == (name,)


def test_the_reserved_table_is_documented() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    for patterns, _ in RESERVED_ENV:
        for pattern in patterns.split():
            assert f"`{pattern}`" in docs, pattern


def test_code_rules() -> None:
    with pytest.raises(CodeTooLarge) as info:
        create("é" * 60)
    assert info.value.code == "code_too_large"
    assert codes(create, b"\xff") == "invalid_code"
    assert codes(check_code, "ok\x00", 100) == "invalid_code"
    assert codes(check_code, b"\x00\x01", 100) == "invalid_code"
    assert codes(create, "\n\t ") == "empty_code"
    assert codes(create, None) == "missing_field"
    assert create(b"ok").code == "ok"


CURRENT = FunctionSpec(
    key="k",
    config=FunctionConfig(
        "f",
        RuntimeName("node"),
        "20",
        "handler.handler",
        Env.of({"A": "1"}),
        Limits(256, 1000, 5),
        title="An API",
        convention="lambda",
        auth="token",
        secrets=Secrets("wrapped", (("S", SealedValue("sealed", "fp")),)),
    ),
    code="c",
    image="img/node:20",
    run_command="n",
)


def test_update_keeps_what_is_not_given() -> None:
    spec = validate_update(CURRENT, {"memory_mb": 512}, None, ENTRIES, 100)
    assert spec.limits == Limits(512, 1000, 5)
    assert (spec.name, spec.code, spec.env, spec.handler) == (
        "f",
        "c",
        Env.of({"A": "1"}),
        "handler.handler",
    )
    assert spec.spec_hash != CURRENT.spec_hash
    assert replace(spec.config, limits=CURRENT.limits) == CURRENT.config  # every other setting
    assert validate_update(CURRENT, {}, None, ENTRIES, 100) == CURRENT
    moved = validate_update(CURRENT, {"runtime": "python"}, None, ENTRIES, 100)
    assert (moved.config.title, moved.config.auth, moved.config.secrets) == (
        "An API",
        "token",
        CURRENT.config.secrets,
    )


def test_update_runtime_switch() -> None:
    moved = validate_update(CURRENT, {"runtime": "python"}, None, ENTRIES, 100)
    assert (moved.runtime, moved.image, moved.handler) == ("python", PY.image, "handler.handler")
    custom = replace(CURRENT, config=replace(CURRENT.config, handler="main.run"))
    kept = validate_update(custom, {"runtime": "python", "version": "3.12"}, None, ENTRIES, 100)
    assert kept.handler == "main.run"
    with pytest.raises(UnknownRuntime):
        validate_update(CURRENT, {"version": "3.12"}, None, ENTRIES, 100)
