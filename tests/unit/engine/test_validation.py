from __future__ import annotations

import pytest

from engine.errors import CodeTooLarge, InvalidInput, UnknownRuntime
from engine.spec import FunctionSpec, Limits, RuntimeSpec
from engine.validation import (
    FunctionInput,
    check_env,
    check_handler,
    check_limits,
    check_name,
    validate_create,
    validate_update,
)

NODE = RuntimeSpec("node", "20", "img/node:20", "// node", "handler.handler", "node w.mjs")
PY = RuntimeSpec("python", "3.12", "img/py:3.12", "# py", "handler.handler", "python w.py")
PY_OLD = RuntimeSpec("python", "3.9", "img/py:3.9", "# py", "handler.handler", "p", disabled=True)
CATALOG = (NODE, PY, PY_OLD)


def codes(fn: object, *args: object) -> str:
    with pytest.raises(InvalidInput) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


@pytest.mark.parametrize("name", ["a", "hello", "my-fn-2", "0", "a" * 63])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "A", "a_b", "a.b", "a" * 64, "é", "trail\n", "a\nb", "x\x00"]
)
def test_bad_names(name: str) -> None:
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
    assert check_handler(handler, runtime) == handler


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
                "a/b.c",
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
        ("ruby", "handler.handler"),
    ],
)
def test_bad_handlers(runtime: str, handler: str) -> None:
    assert codes(check_handler, handler, runtime) == "invalid_handler"


def test_a_handler_is_checked_for_its_runtime_on_create_and_update() -> None:
    python_keyword = FunctionInput(name="f", code="x", runtime="python", handler="handler.def")
    assert codes(validate_create, python_keyword, CATALOG, NODE, 100) == "invalid_handler"
    node_only = FunctionSpec(**{**CURRENT.__dict__, "handler": "handler.$main"})
    move = FunctionInput(runtime="python", version="3.12")
    assert codes(validate_update, node_only, move, CATALOG, 100) == "invalid_handler"


def test_env_rules() -> None:
    assert check_env({"B": "2", "A": "1"}) == (("A", "1"), ("B", "2"))
    assert codes(check_env, {"1A": "x"}) == "invalid_env"
    assert codes(check_env, {"A-B": "x"}) == "invalid_env"
    assert codes(check_env, {"AWS_REGION": "x"}) == "reserved_env"
    assert codes(check_env, {"Lambda_Task": "x"}) == "reserved_env"
    assert codes(check_env, {"BIG": "x" * 5000}) == "env_too_large"


@pytest.mark.parametrize(
    "env", [{"A\n": "x"}, {"\nA": "x"}, {"A\x00": "x"}, {"A": "x\x00y"}, {"A": "\x00"}]
)
def test_env_names_and_values_are_checked_whole(env: dict[str, str]) -> None:
    assert codes(check_env, env) == "invalid_env"


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
    ],
)
def test_limits(memory: int, timeout: int, concurrency: int, ok: bool) -> None:
    if ok:
        assert check_limits(memory, timeout, concurrency) == Limits(memory, timeout, concurrency)
    else:
        assert codes(check_limits, memory, timeout, concurrency) == "invalid_limit"


def test_create_defaults() -> None:
    draft = validate_create(FunctionInput(name="f", code="x"), CATALOG, NODE, 100)
    assert draft.runtime == NODE and draft.handler == "handler.handler"
    assert draft.limits == Limits() and draft.env == ()
    only_runtime = validate_create(
        FunctionInput(name="f", code="x", runtime="python"), CATALOG, NODE, 100
    )
    assert only_runtime.runtime == PY


def test_create_runtime_rules() -> None:
    with pytest.raises(UnknownRuntime):
        validate_create(
            FunctionInput(name="f", code="x", runtime="python", version="3.9"), CATALOG, NODE, 100
        )
    with pytest.raises(UnknownRuntime):
        validate_create(
            FunctionInput(name="f", code="x", runtime="ruby", version="3"), CATALOG, NODE, 100
        )
    no_default = FunctionInput(name="f", code="x")
    assert codes(validate_create, no_default, CATALOG, None, 100) == "missing_field"


def test_code_rules() -> None:
    with pytest.raises(CodeTooLarge) as info:
        validate_create(FunctionInput(name="f", code="é" * 60), CATALOG, NODE, 100)
    assert info.value.code == "code_too_large"
    assert (
        codes(validate_create, FunctionInput(name="f", code=b"\xff"), CATALOG, NODE, 100)
        == "invalid_code"
    )
    assert (
        codes(validate_create, FunctionInput(name="f", code="\n\t "), CATALOG, NODE, 100)
        == "empty_code"
    )
    draft = validate_create(FunctionInput(name="f", code=b"ok"), CATALOG, NODE, 100)
    assert draft.code == "ok"


CURRENT = FunctionSpec(
    key="k",
    name="f",
    runtime="node",
    version="20",
    handler="handler.handler",
    code="c",
    image="img/node:20",
    env=(("A", "1"),),
    limits=Limits(256, 1000, 5),
)


def test_update_keeps_what_is_not_given() -> None:
    draft = validate_update(CURRENT, FunctionInput(memory_mb=512), CATALOG, 100)
    spec = draft.spec("k")
    assert spec.limits == Limits(512, 1000, 5)
    assert (spec.name, spec.code, spec.env, spec.handler) == (
        "f",
        "c",
        (("A", "1"),),
        "handler.handler",
    )
    assert draft.spec("k").spec_hash != CURRENT.spec_hash
    assert validate_update(CURRENT, FunctionInput(), CATALOG, 100).spec("k") == CURRENT


def test_update_runtime_switch() -> None:
    moved = validate_update(CURRENT, FunctionInput(runtime="python"), CATALOG, 100)
    assert moved.runtime == PY and moved.handler == "handler.handler"
    custom = FunctionSpec(**{**CURRENT.__dict__, "handler": "main.run"})
    kept = validate_update(custom, FunctionInput(runtime="python", version="3.12"), CATALOG, 100)
    assert kept.handler == "main.run"
    with pytest.raises(UnknownRuntime):
        validate_update(CURRENT, FunctionInput(version="3.12"), CATALOG, 100)
