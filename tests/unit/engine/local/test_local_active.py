import json
import os
from pathlib import Path

import pytest

from engine.local import active
from engine.local.active import ActiveDeployment, CorruptActiveRecordError
from engine.local.layout import deployment_name
from engine.spec import FunctionSpec
from tests.fixtures.specs import make_spec


def node_spec() -> FunctionSpec:
    return make_spec(
        "node",
        "export const handler = async () => 1;\n",
        key="k1",
        name="fn",
        handler="index.handler",
        env={"A": "1", "B": "two"},
        memory_mb=256,
        timeout_ms=1500,
        concurrency=3,
    )


def write_deployment(function_dir: Path, spec: FunctionSpec, name: str) -> None:
    code_dir = function_dir / deployment_name(spec.spec_hash)
    code_dir.mkdir(parents=True)
    (code_dir / name).write_text(spec.code)


def test_round_trip_restores_the_whole_spec(tmp_path: Path) -> None:
    spec = node_spec()
    write_deployment(tmp_path, spec, "index.mjs")
    path = tmp_path / "active.json"
    active.save(path, ActiveDeployment(spec, "index.mjs"))
    loaded = active.load(path)
    assert loaded == ActiveDeployment(spec, "index.mjs")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert "export const" not in path.read_text()  # the code lives in the deployment dir


def test_missing_record_means_nothing_deployed(tmp_path: Path) -> None:
    assert active.load(tmp_path / "active.json") is None


def test_tampered_code_is_refused(tmp_path: Path) -> None:
    spec = node_spec()
    write_deployment(tmp_path, spec, "index.mjs")
    path = tmp_path / "active.json"
    active.save(path, ActiveDeployment(spec, "index.mjs"))
    (tmp_path / deployment_name(spec.spec_hash) / "index.mjs").write_text("changed")
    with pytest.raises(CorruptActiveRecordError, match="code_sha256"):
        active.load(path)


@pytest.mark.parametrize("content", ["{", "[]", json.dumps({"format": 99})])
def test_unreadable_records_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "active.json"
    path.write_text(content)
    with pytest.raises(CorruptActiveRecordError):
        active.load(path)


def test_save_replaces_atomically(tmp_path: Path) -> None:
    spec = node_spec()
    path = tmp_path / "active.json"
    active.save(path, ActiveDeployment(spec, "index.mjs"))
    active.save(path, ActiveDeployment(spec, "index.mjs"))
    assert sorted(os.listdir(tmp_path)) == ["active.json"]
