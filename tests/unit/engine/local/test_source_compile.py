"""Compiling a TypeScript handler at deploy time (engine/local/source_compile.py): the plan a
package gets, and the pinned esbuild run for real on an unpacked package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import package
from engine.errors import TargetError
from engine.local import source_compile
from engine.spec import FunctionSpec
from runtimes.driver import Toolchain
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

INDEX_TS = """import { twice, type Doubled } from './twice';

export const handler = async (event: { n?: number }): Promise<Doubled> => twice(event.n ?? 1);
"""
TWICE_TS = """export interface Doubled { value: number }
export function twice(n: number): Doubled { return { value: n * 2 }; }
"""


def spec_of(files: dict[str, str], handler: str = "src/index.handler") -> FunctionSpec:
    code = package.read(zip_of(files)).encode()
    return make_spec("node", code, handler=handler)


def unpacked(tmp_path: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def no_compiler() -> Toolchain:
    raise AssertionError("the compiler is not needed")


def test_a_javascript_package_needs_no_compiler(tmp_path: Path) -> None:
    files = {"src/index.js": "exports.handler = async () => 1;\n", "src/index.ts": INDEX_TS}
    assert source_compile.plan_for(spec_of(files), tmp_path, no_compiler) is None


def test_the_plan_reads_the_packages_module_type(tmp_path: Path) -> None:
    files = {"src/index.ts": INDEX_TS, "package.json": json.dumps({"type": "module"})}
    chain = Toolchain("/bin/esbuild", "0.28.2")
    plan = source_compile.plan_for(spec_of(files), unpacked(tmp_path, files), lambda: chain)
    assert plan is not None
    assert plan.argv[:2] == ("/bin/esbuild", "src/index.ts")
    assert "--format=esm" in plan.argv
    assert plan.outputs[0] == tmp_path / "src" / "index.mjs"


@pytest.mark.parametrize("manifest", ["{not json", '["a list"]', '{"type": 3}'])
def test_an_odd_package_json_means_commonjs(tmp_path: Path, manifest: str) -> None:
    (tmp_path / "package.json").write_text(manifest)
    assert source_compile.package_type(tmp_path / "package.json") == ""


def test_esbuild_bundles_the_handlers_modules_with_a_source_map(tmp_path: Path) -> None:
    files = {"src/index.ts": INDEX_TS, "src/twice.ts": TWICE_TS}
    lines: list[str] = []
    compiled = source_compile.compile_into(spec_of(files), unpacked(tmp_path, files), lines.append)
    assert compiled == "src/index.cjs"
    output = (tmp_path / compiled).read_text()
    assert "value: n * 2" in output  # the second module is bundled in
    assert "interface" not in output  # types are gone
    assert output.rstrip().endswith("//# sourceMappingURL=index.cjs.map")
    source_map = json.loads((tmp_path / "src" / "index.cjs.map").read_text())
    assert sorted(source_map["sources"]) == ["index.ts", "twice.ts"]
    assert any("compiled src/index.cjs" in line for line in lines)


def test_a_compile_error_is_esbuilds_own_message(tmp_path: Path) -> None:
    files = {"src/index.ts": "export const handler = async () => { return 1;\n"}
    with pytest.raises(TargetError) as caught:
        source_compile.compile_into(spec_of(files), unpacked(tmp_path, files), print)
    output = str(caught.value.detail["build_output"])
    assert "[ERROR]" in output
    assert "src/index.ts:2:" in output
    assert output in caught.value.message
    assert not (tmp_path / "src" / "index.cjs").exists()
