"""The image builder's OCI writer (tools/images/oci.py): identical inputs give identical bytes,
and a layout it writes is pushed to a real registry (Debian's docker-registry, with skopeo)
and pulled back by digest. The full images are built by `make images`, not here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fixtures.registry import run_registry

OCI_PY = Path(__file__).resolve().parents[2] / "tools" / "images" / "oci.py"
EPOCH = 1767225600


def _oci() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lambdaclone_images_oci", OCI_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _source(root: Path) -> Path:
    src = root / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    (src / "bin" / "hello").chmod(0o775)
    (src / "data.txt").write_text("data\n")
    os.link(src / "data.txt", src / "same.txt")
    (src / "link").symlink_to("data.txt")
    (src / "skip.pyc").write_bytes(b"x")
    return src


def _build(oci: Any, src: Path, layout_dir: Path) -> str:
    layout = oci.Layout(layout_dir)
    tree = oci.Tree()
    tree.add_dir(src, "/opt/demo", exclude=["*.pyc"])
    tree.add_bytes("etc/demo.conf", b"x=1\n")
    layer = layout.write_layer(tree, EPOCH)
    config = {"User": "65532:65532", "Cmd": ["/opt/demo/bin/hello"]}
    doc = oci.image_config([layer], epoch=EPOCH, config=config, history=["demo"])
    blob = layout.put_bytes(oci.canonical_json(doc), oci.CONFIG_TYPE)
    manifest = oci.manifest(blob, [layer], {})
    digest = layout.put_bytes(oci.canonical_json(manifest), oci.MANIFEST_TYPE)
    layout.write_index({"demo-1": digest})
    return str(digest.digest)


def test_identical_inputs_give_identical_digests(tmp_path: Path) -> None:
    oci = _oci()
    src = _source(tmp_path)
    first = _build(oci, src, tmp_path / "a")
    os.utime(src / "data.txt", (0, 0))  # mtimes on disk never reach the layer
    second = _build(oci, src, tmp_path / "b")
    assert first == second
    manifest = json.loads((tmp_path / "a" / "blobs" / "sha256" / first[7:]).read_bytes())
    layer = tmp_path / "a" / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    with tarfile.open(layer, "r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert "opt/demo/skip.pyc" not in names
    assert {m.mtime for m in members} == {EPOCH}
    assert {(m.uid, m.gid, m.uname) for m in members} == {(0, 0, "")}
    by_name = {m.name: m for m in members}
    assert by_name["opt/demo/bin/hello"].mode == 0o755  # group/other write dropped
    assert by_name["opt/demo/link"].issym()
    assert by_name["opt/demo/same.txt"].islnk()


@pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="Debian's docker-registry and skopeo are needed",
)
def test_layout_is_pushed_and_pulled_by_digest(tmp_path: Path) -> None:
    digest = _build(_oci(), _source(tmp_path), tmp_path / "layout")
    with run_registry(tmp_path / "registry") as registry:
        ref = registry.image("lambdaclone/demo", "1")
        digestfile = tmp_path / "pushed"
        push = ["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"]
        push += ["--digestfile", str(digestfile), f"oci:{tmp_path / 'layout'}:demo-1"]
        subprocess.run([*push, f"docker://{ref}"], check=True, timeout=60)
        assert digestfile.read_text().strip() == digest
        by_digest = f"docker://{registry.image('lambdaclone/demo', digest)}"
        raw = subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", by_digest],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
        pulled = tmp_path / "pulled"
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--src-tls-verify=false", by_digest, f"oci:{pulled}:x"],
            check=True,
            timeout=60,
        )
        assert (pulled / "blobs" / "sha256" / digest[7:]).is_file()
