"""The node driver's TypeScript compile plan (runtimes/node/driver.py): which file is compiled,
into which file the loader finds, with which esbuild arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtimes.driver import CompileRequest, Toolchain
from runtimes.registry import driver

NODE = driver("node")
ESBUILD = Toolchain("/opt/esbuild/bin/esbuild", "0.28.2")
CODE = Path("/build/pkg")


def request(source: str, package_type: str = "", version: str = "20") -> CompileRequest:
    return CompileRequest(CODE, source, ESBUILD, version, package_type)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"src/index.ts"}, "src/index.ts"),
        ({"src/index.mts", "src/other.ts"}, "src/index.mts"),
        ({"src/index.cts"}, "src/index.cts"),
        ({"src/index.ts", "src/index.js"}, None),  # shipped JavaScript is what node loads
        ({"src/index.ts", "src/index.mjs"}, None),
        ({"src/index.py", "src/other.ts"}, None),
        ({"index.ts"}, None),  # another folder's file
    ],
)
def test_the_handlers_typescript_file_is_the_one_compiled(
    files: set[str], expected: str | None
) -> None:
    assert NODE.compile_source("src/index.handler", frozenset(files)) == expected


def test_other_runtimes_compile_nothing() -> None:
    assert driver("python").compile_source("index.handler", frozenset({"index.ts"})) is None


def test_a_ts_handler_bundles_to_commonjs_beside_its_source() -> None:
    plan = NODE.compile(request("src/index.ts"))
    assert plan.cwd == CODE
    assert plan.argv == (
        ESBUILD.executable,
        "src/index.ts",
        "--bundle",
        "--platform=node",
        "--target=node20",
        "--packages=external",
        "--format=cjs",
        "--sourcemap",
        f"--outfile={CODE / 'src/index.cjs'}",
        "--log-level=warning",
        "--color=false",
    )
    assert plan.outputs == (CODE / "src/index.cjs", CODE / "src/index.cjs.map")
    assert plan.files == ()


@pytest.mark.parametrize(
    ("source", "package_type", "fmt", "out"),
    [
        ("src/index.ts", "module", "esm", "src/index.mjs"),
        ("src/index.ts", "commonjs", "cjs", "src/index.cjs"),
        ("src/index.mts", "", "esm", "src/index.mjs"),
        ("src/index.mts", "commonjs", "esm", "src/index.mjs"),
        ("src/index.cts", "module", "cjs", "src/index.cjs"),
    ],
)
def test_the_output_module_type_is_the_one_node_gives_the_source(
    source: str, package_type: str, fmt: str, out: str
) -> None:
    plan = NODE.compile(request(source, package_type))
    assert f"--format={fmt}" in plan.argv
    assert f"--outfile={CODE / out}" in plan.argv
    assert plan.outputs[0] == CODE / out


def test_the_target_follows_the_runtime_version() -> None:
    assert "--target=node22" in NODE.compile(request("index.ts", version="22")).argv


def test_a_javascript_source_is_not_a_compile() -> None:
    with pytest.raises(ValueError, match="not a TypeScript file"):
        NODE.compile(request("src/index.js"))
