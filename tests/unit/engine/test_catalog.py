from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import (
    BUILTIN_RUNTIMES,
    DEFAULT_RUNTIME,
    builtin_catalog,
    default_code_path,
    image_for,
    read_default_code,
)
from engine.errors import CatalogSourceMissing


def test_builtin_catalog_reads_the_wrappers_default_code() -> None:
    catalog = builtin_catalog()
    assert [(s.runtime, s.version) for s in catalog] == [
        ("golang", "1.22"),
        ("node", "20"),
        ("python", "3.12"),
    ]
    for spec in catalog:
        assert spec.default_code == default_code_path(spec.runtime).read_text()
        assert spec.default_code.strip()
        assert spec.image == f"lambdaclone/runtime-{spec.runtime}:{spec.version}"
        assert spec.default_handler == "handler.handler" and not spec.disabled
    assert (DEFAULT_RUNTIME.runtime, DEFAULT_RUNTIME.version) == ("node", "20")
    assert DEFAULT_RUNTIME in BUILTIN_RUNTIMES


def test_registry_and_missing_sources(tmp_path: Path) -> None:
    assert image_for("node", "20", "reg.example/x") == "reg.example/x/runtime-node:20"
    with pytest.raises(CatalogSourceMissing) as info:
        read_default_code("python", tmp_path)
    assert str(info.value.detail["path"]).endswith("python/default/handler.py")
