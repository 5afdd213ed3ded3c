from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from engine.catalog import (
    BUILTIN_VERSIONS,
    DEFAULT_RUNTIME,
    builtin_catalog,
    find_entry,
    image_for,
    read_default_code,
)
from engine.errors import CatalogSourceMissing
from runtimes.golang.driver import GolangDriver
from runtimes.registry import RuntimeName, driver, drivers


def test_builtin_catalog_reads_each_runtimes_default_code() -> None:
    catalog = builtin_catalog()
    assert [(e.runtime, e.version) for e in catalog] == sorted(BUILTIN_VERSIONS)
    assert {("golang", "1.22"), ("node", "20"), ("python", "3.12")} <= set(BUILTIN_VERSIONS)
    for entry in catalog:
        runtime = driver(entry.runtime)
        assert entry.default_code == runtime.default_code_path.read_text()
        assert entry.default_code.strip()
        assert entry.image == f"lambdaclone/runtime-{entry.runtime}:{entry.version}"
        assert entry.run_command == shlex.join(runtime.image_command)
        assert entry.default_handler == "handler.handler" and not entry.disabled
    assert DEFAULT_RUNTIME == ("node", "20") and DEFAULT_RUNTIME in BUILTIN_VERSIONS


def test_every_catalog_runtime_has_a_driver() -> None:
    assert {runtime for runtime, _ in BUILTIN_VERSIONS} <= set(drivers())


def test_registry_and_missing_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_for("node", "20", "reg.example/x") == "reg.example/x/runtime-node:20"
    monkeypatch.setattr(GolangDriver, "default_code_path", tmp_path / "handler.go")
    with pytest.raises(CatalogSourceMissing) as info:
        read_default_code(RuntimeName("golang"))
    assert str(info.value.detail["path"]).endswith("handler.go")


def test_find_entry() -> None:
    catalog = builtin_catalog()
    assert find_entry(catalog, "python", "3.12") == next(
        e for e in catalog if e.runtime == "python"
    )
    assert find_entry(catalog, "python", "2.7") is None
