from dataclasses import replace
from typing import Any

from engine.local.preview import BINARY_TYPE, CODE_TYPE, WORKER_TYPE, plan
from engine.plan import SECRET_MASK
from engine.spec import FunctionSpec
from tests.fixtures.specs import make_spec


def spec(runtime: str = "python", code: str | None = None, **settings: Any) -> FunctionSpec:
    text = "def handler(e, c):\n    return 1\n" if code is None else code
    return make_spec(runtime, text, key="k1", **{"name": "fn", **settings})


def ops(p: object) -> dict[str, str]:
    return {r.type: r.op for r in p.resources}  # type: ignore[attr-defined]


def test_first_deploy_creates_code_and_worker() -> None:
    result = plan(None, spec())
    assert result.changed
    assert ops(result) == {CODE_TYPE: "create", WORKER_TYPE: "create"}


def test_same_spec_changes_nothing() -> None:
    result = plan(spec(), spec())
    assert not result.changed
    assert result.fields == ()
    assert set(ops(result).values()) == {"same"}


def test_code_change_updates_code_and_replaces_the_worker() -> None:
    result = plan(spec(), spec(code="def handler(e, c):\n    return 2\n"))
    assert ops(result) == {CODE_TYPE: "update", WORKER_TYPE: "replace"}
    assert [f.path for f in result.fields] == ["code_sha256"]


def test_limits_change_replaces_only_the_worker() -> None:
    result = plan(spec(), spec(memory_mb=256))
    assert ops(result) == {CODE_TYPE: "same", WORKER_TYPE: "replace"}
    assert result.summary() == {"same": 1, "replace": 1}


def test_env_values_are_masked() -> None:
    result = plan(spec(), spec(env={"TOKEN": "s3cret"}))
    worker = next(r for r in result.resources if r.type == WORKER_TYPE)
    assert [(f.path, f.old, f.new) for f in worker.fields] == [("env.TOKEN", None, SECRET_MASK)]
    assert "s3cret" not in repr(result)


def test_golang_has_a_binary_rebuilt_when_the_code_changes() -> None:
    go = spec("golang", code="package main\n")
    assert ops(plan(None, go))[BINARY_TYPE] == "create"
    assert ops(plan(go, go))[BINARY_TYPE] == "same"
    assert ops(plan(go, replace(go, code="package main\n// v2\n")))[BINARY_TYPE] == "replace"
    assert ops(plan(go, spec("golang", go.code, name="renamed")))[BINARY_TYPE] == "same"
