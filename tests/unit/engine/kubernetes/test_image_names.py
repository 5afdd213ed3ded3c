"""How the catalog names the runtime images the Deployments run: by tag under a repository
prefix, or by digest from the images lock `make images push` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalog import BUILTIN_VERSIONS, builtin_catalog, image_for
from engine.errors import CatalogSourceMissing

DIGEST = "sha256:" + "c" * 64


def lock(tmp_path: Path, images: dict[str, str]) -> Path:
    path = tmp_path / "images.lock.json"
    path.write_text(json.dumps({"registry": "127.0.0.1:5000", "images": images}))
    return path


def test_a_prefix_names_images_by_tag() -> None:
    assert image_for("python", "3.12", "reg.example/lambdaclone") == (
        "reg.example/lambdaclone/runtime-python:3.12"
    )


def test_a_lock_names_every_catalog_image_by_digest(tmp_path: Path) -> None:
    refs = {
        f"runtime-{runtime}:{version}": f"127.0.0.1:5000/lambdaclone/runtime-{runtime}@{DIGEST}"
        for runtime, version in BUILTIN_VERSIONS
    }
    assert {"runtime-python:3.12", "runtime-node:20", "runtime-golang:1.22"} <= set(refs)
    path = lock(tmp_path, {**refs, "control-plane:0.1.0": f"r/control-plane@{DIGEST}"})
    entries = builtin_catalog(str(path))
    assert {e.image for e in entries} == set(refs.values())


def test_a_runtime_missing_from_the_lock_is_a_clear_error(tmp_path: Path) -> None:
    path = lock(tmp_path, {"runtime-node:20": f"r/runtime-node@{DIGEST}"})
    with pytest.raises(CatalogSourceMissing, match=r"runtime-python:3\.12"):
        image_for("python", "3.12", str(path))
    with pytest.raises(CatalogSourceMissing, match="not in the images lock"):
        image_for("python", "3.12", str(tmp_path / "absent.json"))


def test_a_lock_entry_without_a_digest_is_refused(tmp_path: Path) -> None:
    path = lock(tmp_path, {"runtime-python:3.12": "r/runtime-python:3.12"})
    with pytest.raises(CatalogSourceMissing, match="without a digest"):
        image_for("python", "3.12", str(path))
