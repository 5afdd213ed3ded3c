"""The Kubernetes target's artifact build compiles a TypeScript handler as the local target
does (the same `materialise`, in the build child): the compiled file and its source map are in
the packed artifact, and a compile error fails the build with esbuild's message."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from engine import package
from engine.errors import TargetError
from engine.kubernetes.builds import ArtifactBuilder
from engine.spec import FunctionSpec
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

INDEX_TS = """import { twice } from './twice';

export const handler = async (event: { n?: number }): Promise<number> => twice(event.n ?? 1);
"""
TWICE_TS = "export const twice = (n: number): number => n * 2;\n"


def ts_package(index: str) -> FunctionSpec:
    files = {"src/index.ts": index, "src/twice.ts": TWICE_TS}
    code = package.read(zip_of(files)).encode()
    return make_spec("node", code=code, handler="src/index.handler", key="fnts")


def test_the_artifact_holds_the_compiled_handler_and_its_map(tmp_path: Path) -> None:
    builder, lines = ArtifactBuilder.under(tmp_path), list[str]()
    digest = builder.build(ts_package(INDEX_TS), lines.append)
    assert any(line.startswith("compiled src/index.cjs") for line in lines), lines
    with tarfile.open(builder.store.path(digest)) as archive:
        names = set(archive.getnames())
        bundle = archive.extractfile("src/index.cjs")
        assert bundle is not None
        text = bundle.read().decode()
        source_map = archive.extractfile("src/index.cjs.map")
        assert source_map is not None
        sources = json.load(source_map)["sources"]
    assert {"src/index.ts", "src/twice.ts", "src/index.cjs", "src/index.cjs.map"} <= names
    assert "n * 2" in text
    assert sorted(sources) == ["index.ts", "twice.ts"]


def test_a_compile_error_fails_the_build_and_stores_nothing(tmp_path: Path) -> None:
    builder = ArtifactBuilder.under(tmp_path)
    spec = ts_package("export const handler = async () => {\n  return twice(;\n};\n")
    with pytest.raises(TargetError) as failed:
        builder.build(spec, lambda _line: None)
    output = str(failed.value.detail["build_output"])
    assert "[ERROR]" in output and "src/index.ts:2:" in output, output
    assert list(builder.store.root.glob("*.tar.gz")) == []
