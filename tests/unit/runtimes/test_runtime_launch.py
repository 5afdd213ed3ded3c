"""runtimes.launch: the pure description of how the local target starts a wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtimes import launch


@pytest.mark.parametrize("runtime", ["golang", "node", "python"])
def test_default_handler(runtime: str) -> None:
    assert launch.default_handler(runtime) == "handler.handler"


def test_unknown_runtime_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        launch.default_handler("ruby")


@pytest.mark.parametrize(
    ("runtime", "handler", "code", "expected"),
    [
        ("python", "app.main", "def main(): ...", "app.py"),
        ("golang", "handler.handler", "package main", "handler.go"),
        ("node", "index.handler", "export const handler = async () => 1;", "index.mjs"),
        ("node", "handler.handler", "function h() {}\nexport default h;\n", "handler.mjs"),
        ("node", "handler.handler", "import x from 'y';\n", "handler.mjs"),
        ("node", "handler.handler", "export { h as handler };", "handler.mjs"),
        ("node", "index.handler", "exports.handler = async () => 1;", "index.cjs"),
        ("node", "index.handler", "const m = await import('x');", "index.cjs"),
        ("node", "index.handler", "// export default is in a comment later\n", "index.cjs"),
        ("node", "index.handler", "imports = 1;\nexported = 2;\n", "index.cjs"),
        ("node", "handler.handler", "import * as fs from 'node:fs';", "handler.mjs"),
        ("node", "handler.handler", "import a, { b } from 'c';", "handler.mjs"),
        ("node", "handler.handler", "  export async function handler() {}", "handler.mjs"),
    ],
)
def test_code_filename(runtime: str, handler: str, code: str, expected: str) -> None:
    assert launch.code_filename(runtime, handler, code) == expected


def test_code_filename_needs_file_dot_function() -> None:
    with pytest.raises(ValueError, match=r"file\.function"):
        launch.code_filename("python", "handler", "")


def test_worker_command(tmp_path: Path) -> None:
    python = launch.worker_command(
        "python", code_dir=tmp_path, build_dir=None, python="/py", node="/node"
    )
    assert python == ["/py", str(launch.PYTHON_WRAPPER)]
    assert launch.PYTHON_WRAPPER.is_absolute() and launch.PYTHON_WRAPPER.is_file()
    node = launch.worker_command("node", code_dir=tmp_path, build_dir=None, python="p", node="n")
    assert node == ["n", str(launch.NODE_WRAPPER)] and launch.NODE_WRAPPER.is_file()
    go = launch.worker_command("golang", code_dir=tmp_path, build_dir=tmp_path, python="", node="")
    assert go == [str(tmp_path / launch.GO_BINARY_NAME)]
    with pytest.raises(ValueError, match="build_dir"):
        launch.worker_command("golang", code_dir=tmp_path, build_dir=None, python="", node="")


def test_worker_env(tmp_path: Path) -> None:
    env = launch.worker_env(
        port=8123,
        code_dir=tmp_path,
        handler="index.handler",
        function_name="fn",
        function_key="key1",
        version=3,
        memory_mb=512,
        timeout_ms=9000,
        path_prefix="/endpoint/key1",
        user_env={"PORT": "1", "MY_VAR": "x"},
    )
    assert env["PORT"] == "8123" and env["MY_VAR"] == "x"
    assert env["HOST"] == "127.0.0.1" and env["LAMBDA_CODE_DIR"] == str(tmp_path)
    assert env["LAMBDA_HANDLER"] == "index.handler" and env["LAMBDA_FUNCTION_VERSION"] == "3"
    assert (env["LAMBDA_MEMORY_MB"], env["LAMBDA_TIMEOUT_MS"]) == ("512", "9000")
    assert env["LAMBDA_PATH_PREFIX"] == "/endpoint/key1" and env["LAMBDA_CONVENTION"] == "auto"
    assert "PYTHONPYCACHEPREFIX" not in env


def test_worker_env_pycache_and_convention(tmp_path: Path) -> None:
    common = {
        "port": 1,
        "code_dir": tmp_path,
        "handler": "h.h",
        "function_name": "f",
        "function_key": "k",
        "version": "1",
        "memory_mb": 128,
        "timeout_ms": 3000,
    }
    env = launch.worker_env(**common, pycache_dir=tmp_path / "pyc")  # type: ignore[arg-type]
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pyc")
    assert env["PYTHONDONTWRITEBYTECODE"] == ""
    with pytest.raises(ValueError, match="convention"):
        launch.worker_env(**common, convention="express")  # type: ignore[arg-type]


def test_go_build_plan(tmp_path: Path) -> None:
    out = tmp_path / "bin" / "function"
    plan = launch.go_build_plan(
        tmp_path / "code", out, src_dir=tmp_path / "src", gocache=tmp_path / "cache"
    )
    assert plan.cwd == tmp_path / "src" and plan.binary == out
    by_dest = {f.dest.name: f for f in plan.files}
    assert by_dest["lambdaclone_main.go"].source == launch.GO_WRAPPER
    assert by_dest["handler.go"].source == tmp_path / "code" / "handler.go"
    assert "lcUserHandler = handler" in (by_dest["lambdaclone_entry.go"].content or "")
    assert "module lambdaclone/function" in (by_dest["go.mod"].content or "")
    assert all(f.dest.parent == plan.cwd for f in plan.files)
    assert plan.argv[:3] == ("go", "build", "-trimpath") and plan.argv[-3:] == ("-o", str(out), ".")
    assert plan.env["CGO_ENABLED"] == "0" and plan.env["GOCACHE"] == str(tmp_path / "cache")
    assert plan.env["GOTOOLCHAIN"] == "local" and plan.env["GOPROXY"] == "off"


def test_go_build_plan_without_code_builds_the_load_error_server(tmp_path: Path) -> None:
    plan = launch.go_build_plan(None, tmp_path / "f", src_dir=tmp_path, gocache=tmp_path)
    assert sorted(f.dest.name for f in plan.files) == ["go.mod", "lambdaclone_main.go"]


def test_go_build_plan_custom_function_and_bad_names(tmp_path: Path) -> None:
    plan = launch.go_build_plan(
        tmp_path, tmp_path / "f", src_dir=tmp_path, gocache=tmp_path, handler="handler.serve"
    )
    entry = next(f for f in plan.files if f.dest.name == "lambdaclone_entry.go")
    assert entry.content == launch.go_entry_source("serve")
    with pytest.raises(ValueError, match="identifier"):
        launch.go_build_plan(
            tmp_path, tmp_path / "f", src_dir=tmp_path, gocache=tmp_path, handler="h.x-y"
        )
