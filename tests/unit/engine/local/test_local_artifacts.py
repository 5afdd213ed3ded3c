"""Reference counting of the local target's build outputs (engine/local/artifacts.py), on disk."""

from pathlib import Path

from engine.local.artifacts import Artifacts
from engine.local.build import LOCKS, artifact_digest
from engine.local.layout import Layout
from engine.spec import FunctionSpec
from tests.fixtures.specs import make_spec


def spec(code: str, runtime: str = "golang") -> FunctionSpec:
    return make_spec(runtime, code, key=f"k{abs(hash(code)) % 10**8}", name="fn")


def digest(spec: FunctionSpec) -> str:
    found = artifact_digest(spec)
    assert found is not None
    return found


def cached(layout: Layout, *specs: FunctionSpec) -> None:
    for each in specs:
        out = layout.artifact_dir(digest(each))
        out.mkdir(parents=True)
        (out / "function").write_bytes(b"\x7fELF")
        (layout.artifacts / LOCKS).mkdir(exist_ok=True)
        (layout.artifacts / LOCKS / digest(each)).touch()


def digests_on_disk(layout: Layout) -> set[str]:
    return {path.parent.name for path in layout.artifacts.glob("*/function")}


def test_only_artifacts_no_active_function_uses_are_removed(tmp_path: Path) -> None:
    layout = Layout.under(tmp_path)
    used, unused = spec("package main // a"), spec("package main // b")
    cached(layout, used, unused)
    (layout.artifacts / ".build-123").mkdir()  # someone's build in progress: not a digest
    active = [used, spec("print(1)", "python")]
    artifacts = Artifacts(layout, lambda: active)

    assert artifacts.prune() == [digest(unused)]
    assert digests_on_disk(layout) == {digest(used)}
    assert not (layout.artifacts / LOCKS / digest(unused)).exists()
    assert (layout.artifacts / ".build-123").is_dir()
    assert artifacts.prune() == []


def test_a_pinned_artifact_survives_until_the_apply_has_finished(tmp_path: Path) -> None:
    layout = Layout.under(tmp_path)
    building = spec("package main // new")
    cached(layout, building)
    active: list[FunctionSpec] = []
    artifacts = Artifacts(layout, lambda: active)

    with artifacts.pinned(building), artifacts.pinned(building):
        assert artifacts.prune() == []  # built, not yet active: another destroy must not take it
    assert artifacts.prune() == [digest(building)]

    cached(layout, building)
    with artifacts.pinned(building):
        active.append(building)  # the traffic switch, before the pin is released
    assert artifacts.prune() == []


def test_digests_cover_code_and_handler_and_skip_runtimes_that_do_not_build() -> None:
    go = spec("package main")
    assert artifact_digest(spec("x = 1", "python")) is None
    assert digest(go) != digest(spec("package main // other"))
    assert digest(go) != digest(make_spec("golang", "package main", key=go.key, handler="h.run"))
    assert digest(go) == digest(make_spec("golang", "package main", key="another"))
