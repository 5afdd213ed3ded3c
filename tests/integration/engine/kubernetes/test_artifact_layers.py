"""A function's layers in its Kubernetes artifact, built by the real child process with the
local target's own `opt_tree`: the code under `task/`, the layers merged under `opt/` (a later
layer's file wins), byte-compiled as the pod sees them; a new layer version is a new digest and
a new build, the same layers are neither; a function without layers packs as it always did."""

from __future__ import annotations

import marshal
import tarfile
from dataclasses import replace
from pathlib import Path

from engine import package
from engine.artifact_tar import OPT_TREE, POD_OPT_DIR, TASK_TREE
from engine.kubernetes.builds import ArtifactBuilder
from engine.layers import LayerRef, Layers
from engine.spec import FunctionSpec, sha256_text
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

APP = "import greet\n\ndef handler(event, context):\n    return greet.GREETING\n"


def layer(name: str, files: dict[str, str]) -> tuple[LayerRef, str]:
    text = package.read(zip_of(files)).encode()
    digest = sha256_text(package.identity(text))
    return LayerRef(name, 1, digest, 1, f"code/{digest}"), text


def with_layers(spec: FunctionSpec, *refs: LayerRef) -> FunctionSpec:
    return replace(spec, config=replace(spec.config, layers=Layers.of(list(refs))))


def members(builder: ArtifactBuilder, digest: str) -> dict[str, bytes]:
    with tarfile.open(builder.store.path(digest)) as archive:
        files = [m for m in archive.getmembers() if m.isfile()]
        return {m.name: archive.extractfile(m).read() for m in files}  # type: ignore[union-attr]


def test_the_layers_travel_merged_beside_the_code(tmp_path: Path) -> None:
    base, base_text = layer("base", {"python/greet.py": "GREETING = 'base'\n", "bin/t": "x"})
    top, top_text = layer("top", {"python/greet.py": "GREETING = 'top'\n"})
    texts = {base.location: base_text, top.location: top_text}
    read: list[str] = []

    def reader(location: str) -> str:
        read.append(location)
        return texts[location]

    builder = ArtifactBuilder.under(tmp_path, reader)
    plain = make_spec("python", code=APP, handler="app.handler", key="fnl")
    spec = with_layers(plain, base, top)
    digest = builder.build(spec, lambda _line: None)
    files = members(builder, digest)
    assert files[f"{TASK_TREE}/app.py"] == APP.encode()
    assert files[f"{OPT_TREE}/python/greet.py"] == b"GREETING = 'top'\n"  # the later layer wins
    assert files[f"{OPT_TREE}/bin/t"] == b"x"
    (pyc,) = [n for n in files if n.startswith(f"{OPT_TREE}/python/__pycache__/greet.")]
    code = marshal.loads(files[pyc][16:])
    assert code.co_filename == f"{POD_OPT_DIR}/python/greet.py"

    assert builder.build(spec, lambda _line: None) == digest  # the same layers: no build
    assert len(read) == 2
    only_base = builder.build(with_layers(plain, base), lambda _line: None)
    assert only_base != digest
    assert members(builder, only_base)[f"{OPT_TREE}/python/greet.py"] == b"GREETING = 'base'\n"

    without = builder.build(plain, lambda _line: None)
    assert "app.py" in members(builder, without)  # no layers: the code tree alone, at the top
    assert not any(
        name.startswith((f"{TASK_TREE}/", f"{OPT_TREE}/")) for name in members(builder, without)
    )
