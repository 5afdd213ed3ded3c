import json
import os
from pathlib import Path

import pytest

from engine.local import active
from engine.local.active import ActiveRevision, CorruptActiveRecordError
from engine.local.layout import revision_name
from engine.spec import FunctionSpec, Limits


def make_spec() -> FunctionSpec:
    return FunctionSpec(
        key="k1",
        name="fn",
        runtime="node",
        version="20",
        handler="index.handler",
        code="export const handler = async () => 1;\n",
        image="img",
        env=(("A", "1"), ("B", "two")),
        limits=Limits(memory_mb=256, timeout_ms=1500, concurrency=3),
    )


def write_revision(function_dir: Path, spec: FunctionSpec, name: str) -> None:
    rev = function_dir / revision_name(spec.spec_hash)
    rev.mkdir(parents=True)
    (rev / name).write_text(spec.code)


def test_round_trip_restores_the_whole_spec(tmp_path: Path) -> None:
    spec = make_spec()
    write_revision(tmp_path, spec, "index.mjs")
    path = tmp_path / "active.json"
    active.save(path, ActiveRevision(spec, "index.mjs"))
    loaded = active.load(path)
    assert loaded == ActiveRevision(spec, "index.mjs")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert "export const" not in path.read_text()  # the code lives in the revision dir


def test_missing_record_means_nothing_deployed(tmp_path: Path) -> None:
    assert active.load(tmp_path / "active.json") is None


def test_tampered_code_is_refused(tmp_path: Path) -> None:
    spec = make_spec()
    write_revision(tmp_path, spec, "index.mjs")
    path = tmp_path / "active.json"
    active.save(path, ActiveRevision(spec, "index.mjs"))
    (tmp_path / revision_name(spec.spec_hash) / "index.mjs").write_text("changed")
    with pytest.raises(CorruptActiveRecordError, match="sha256"):
        active.load(path)


@pytest.mark.parametrize("content", ["{", "[]", json.dumps({"format": 99})])
def test_unreadable_records_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "active.json"
    path.write_text(content)
    with pytest.raises(CorruptActiveRecordError):
        active.load(path)


def test_save_replaces_atomically(tmp_path: Path) -> None:
    spec = make_spec()
    path = tmp_path / "active.json"
    active.save(path, ActiveRevision(spec, "index.mjs"))
    active.save(path, ActiveRevision(spec, "index.mjs"))
    assert sorted(os.listdir(tmp_path)) == ["active.json"]
