"""Each runtime's driver: the pure description of how its functions are named, built and
launched, found by the registry."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from runtimes.contract import split_handler
from runtimes.driver import BuildRequest, Toolchain
from runtimes.golang.driver import BINARY_NAME, WRAPPER, entry_source
from runtimes.node.driver import WRAPPER as NODE_WRAPPER
from runtimes.python.driver import WRAPPER as PYTHON_WRAPPER
from runtimes.registry import UnknownRuntimeError, driver, drivers, runtime_name


def test_the_registry_finds_one_driver_per_runtime_folder() -> None:
    assert set(drivers()) == {"golang", "node", "provided", "python"}
    for name, found in drivers().items():
        assert found.name == name and found.folder == Path(__file__).parents[3] / "runtimes" / name
        assert found.default_code_path.is_file()
        assert found.default_handler == "handler.handler"
        assert found.editor_mode in {"go", "javascript", "python", "sh"}
        assert shlex.join(found.image_command)
    with pytest.raises(UnknownRuntimeError):
        driver("ruby")
    with pytest.raises(UnknownRuntimeError):
        runtime_name("ruby")
    assert runtime_name("node") == "node"


def test_handlers_are_file_dot_function() -> None:
    assert split_handler("a.b.c") == ("a.b", "c")
    with pytest.raises(ValueError, match=r"file\.function"):
        split_handler("handler")
    with pytest.raises(ValueError, match=r"file\.function"):
        driver("python").code_filename("handler", "")


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
    assert driver(runtime).code_filename(handler, code) == expected


def test_launch(tmp_path: Path) -> None:
    tool = Toolchain("/bin/interp")
    assert driver("python").launch(tool, None) == ["/bin/interp", "-I", str(PYTHON_WRAPPER)]
    assert PYTHON_WRAPPER.is_absolute() and PYTHON_WRAPPER.is_file()
    assert driver("node").launch(tool, None) == ["/bin/interp", str(NODE_WRAPPER)]
    assert NODE_WRAPPER.is_file()
    assert driver("golang").launch(tool, tmp_path) == [str(tmp_path / BINARY_NAME)]
    with pytest.raises(ValueError, match="binary"):
        driver("golang").launch(tool, None)


def test_only_golang_builds(tmp_path: Path) -> None:
    request = BuildRequest(tmp_path, tmp_path, tmp_path, tmp_path, "h.h", Toolchain("go"))
    assert [name for name, d in drivers().items() if d.builds] == ["golang"]
    assert driver("python").build(request) is None and driver("node").build(request) is None


def go_request(tmp_path: Path, handler: str = "handler.handler", code: bool = True) -> BuildRequest:
    return BuildRequest(
        code_dir=tmp_path / "code" if code else None,
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
        cache_dir=tmp_path / "cache",
        handler=handler,
        toolchain=Toolchain("/go/bin/go"),
    )


def test_go_build_plan(tmp_path: Path) -> None:
    plan = driver("golang").build(go_request(tmp_path))
    assert plan is not None and plan.cwd == tmp_path / "work" / "src"
    by_dest = {f.dest.name: f for f in plan.files}
    assert by_dest["lambdaclone_main.go"].source == WRAPPER
    assert by_dest["handler.go"].source == tmp_path / "code" / "handler.go"
    assert "lcUserHandler = handler" in (by_dest["lambdaclone_entry.go"].content or "")
    assert "module lambdaclone/function" in (by_dest["go.mod"].content or "")
    assert all(f.dest.parent == plan.cwd for f in plan.files)
    out = str(tmp_path / "out" / BINARY_NAME)
    assert plan.argv[:3] == ("/go/bin/go", "build", "-trimpath")
    assert plan.argv[-3:] == ("-o", out, ".")
    assert plan.env["CGO_ENABLED"] == "0" and plan.env["GOCACHE"] == str(tmp_path / "cache")
    assert plan.env["GOTOOLCHAIN"] == "local" and plan.env["GOPROXY"] == "off"


def test_go_build_plan_without_code_builds_the_load_error_server(tmp_path: Path) -> None:
    plan = driver("golang").build(go_request(tmp_path, code=False))
    assert plan is not None
    assert sorted(f.dest.name for f in plan.files) == ["go.mod", "lambdaclone_main.go"]


def test_go_build_plan_custom_function_and_bad_names(tmp_path: Path) -> None:
    plan = driver("golang").build(go_request(tmp_path, "handler.serve"))
    assert plan is not None
    entry = next(f for f in plan.files if f.dest.name == "lambdaclone_entry.go")
    assert entry.content == entry_source("serve")
    with pytest.raises(ValueError, match="identifier"):
        driver("golang").build(go_request(tmp_path, "h.x-y"))


def test_prewarm_only_when_the_interpreter_start_does_not_depend_on_the_env() -> None:
    prewarm = driver("python").prewarm
    assert prewarm is not None and driver("node").prewarm is None
    assert prewarm.argv(["/py", "/w.py"]) == ["/py", str(prewarm.script), "/w.py"]
    assert prewarm.can_configure({}) and prewarm.can_configure({"MY_PYTHON_THING": "1"})
    for name in ("PYTHONPATH", "LD_PRELOAD", "LANG", "LC_ALL", "HOME"):
        assert not prewarm.can_configure({name: "x"}), name
    assert prewarm.can_configure({"TZ": "Asia/Seoul", "LANGUAGE_CODE": "ko"})


def test_version_probes() -> None:
    assert driver("node").parse_version("v20.20.2\n") == "20.20.2"
    assert driver("golang").parse_version("go1.22.12\n") == "1.22.12"
    assert driver("golang").version_argv("go") == ["go", "env", "GOVERSION"]
    assert driver("python").parse_version("3.12.1\n") == "3.12.1"


LAMBDA_GO = """package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() { lambda.Start(func(ctx context.Context) (string, error) { return "hi", nil }) }
"""


def test_go_lambda_programs_are_detected() -> None:
    golang = driver("golang")
    assert golang.lambda_program(LAMBDA_GO)
    assert golang.lambda_program(
        'package main\nimport lambda "github.com/aws/aws-lambda-go/lambda"\n'
    )
    assert not golang.lambda_program(driver("golang").default_code_path.read_text())
    assert not golang.lambda_program('package main\nimport "github.com/aws/aws-lambda-go/events"\n')
    assert not golang.lambda_program('package lib\nimport "github.com/aws/aws-lambda-go/lambda"\n')


def test_go_lambda_build_downloads_modules_and_runs_behind_the_runtime_api(tmp_path: Path) -> None:
    request = BuildRequest(
        code_dir=tmp_path / "code",
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
        cache_dir=tmp_path / "cache",
        handler="handler.handler",
        toolchain=Toolchain("/go/bin/go"),
        code=LAMBDA_GO,
    )
    plan = driver("golang").build(request)
    assert plan is not None
    by_dest = {f.dest.name: f for f in plan.files}
    assert sorted(by_dest) == ["go.mod", "handler.go"]  # no wrapper: the program is main
    assert "require github.com/aws/aws-lambda-go v1.54.0" in (by_dest["go.mod"].content or "")
    assert plan.argv[:4] == ("/go/bin/go", "build", "-mod=mod", "-modcacherw")
    assert "GOPROXY" not in plan.env  # the operator's, from the build's environment
    assert plan.env["GOMODCACHE"] == str(tmp_path / "cache-modules")
    assert plan.env["GOTOOLCHAIN"] == "local"
    golang = driver("golang")
    artifact = tmp_path / "out"
    assert golang.runtime_api_bootstrap(artifact, LAMBDA_GO) == artifact / BINARY_NAME
    assert golang.runtime_api_bootstrap(artifact, "package main\n") is None
    assert driver("python").runtime_api_bootstrap(artifact, LAMBDA_GO) is None


def test_the_provided_runtime(tmp_path: Path) -> None:
    provided = driver("provided")
    assert provided.code_filename("function.handler", "#!/bin/sh\n") == "bootstrap"
    assert provided.is_function_name("handler") and not provided.is_function_name("a/b")
    server = provided.folder / "server.py"
    assert provided.launch(Toolchain("/py"), None) == ["/py", "-I", str(server)]
    assert server.is_file() and provided.default_code_path.name == "bootstrap"
    assert provided.folders == (provided.folder, provided.folder.parent / "python")
    assert provided.toolchain_version == "3.12" and not provided.builds
    assert provided.conventions == ("auto", "lambda")


def test_execution_env() -> None:
    assert driver("python").execution_env("3.12") == "AWS_Lambda_python3.12"
    assert driver("node").execution_env("20") == "AWS_Lambda_nodejs20.x"
    assert driver("golang").execution_env("1.22") == driver("provided").execution_env("x") == ""
