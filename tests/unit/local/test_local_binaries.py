"""Reference counting of the local target's Go binaries (engine/local/binaries.py), on disk."""

from pathlib import Path

from engine.local.binaries import GoBinaries
from engine.local.build import go_digest, go_digests
from engine.local.layout import Layout
from engine.spec import FunctionSpec, RuntimeName


def spec(code: str, runtime: RuntimeName = "golang") -> FunctionSpec:
    return FunctionSpec(
        key=f"k{abs(hash(code)) % 10**8}",
        name="fn",
        runtime=runtime,
        version="1.22",
        handler="handler.handler",
        code=code,
        image="img",
    )


def cached(layout: Layout, *specs: FunctionSpec) -> None:
    for each in specs:
        digest = go_digest(each)
        (layout.go_binary_dir(digest)).mkdir(parents=True)
        (layout.go_binary_dir(digest) / "function").write_bytes(b"\x7fELF")
        (layout.go_cache / ".locks").mkdir(exist_ok=True)
        (layout.go_cache / ".locks" / digest).touch()


def digests_on_disk(layout: Layout) -> set[str]:
    return {path.parent.name for path in layout.go_cache.glob("*/function")}


def test_only_binaries_no_active_function_uses_are_removed(tmp_path: Path) -> None:
    layout = Layout.under(tmp_path)
    used, unused = spec("package main // a"), spec("package main // b")
    cached(layout, used, unused)
    (layout.go_cache / ".build-123").mkdir()  # someone's build in progress: not a digest
    active = [used, spec("print(1)", "python")]
    binaries = GoBinaries(layout, lambda: active)

    assert binaries.prune() == [go_digest(unused)]
    assert digests_on_disk(layout) == {go_digest(used)}
    assert not (layout.go_cache / ".locks" / go_digest(unused)).exists()
    assert (layout.go_cache / ".build-123").is_dir()
    assert binaries.prune() == []


def test_a_pinned_binary_survives_until_the_apply_has_finished(tmp_path: Path) -> None:
    layout = Layout.under(tmp_path)
    building = spec("package main // new")
    cached(layout, building)
    active: list[FunctionSpec] = []
    binaries = GoBinaries(layout, lambda: active)

    with binaries.pinned(building), binaries.pinned(building):
        assert binaries.prune() == []  # built, not yet active: another destroy must not take it
    assert binaries.prune() == [go_digest(building)]

    cached(layout, building)
    with binaries.pinned(building):
        active.append(building)  # the traffic switch, before the pin is released
    assert binaries.prune() == []


def test_digests_hash_the_wrapper_once_and_skip_other_runtimes() -> None:
    go, py = spec("package main"), spec("x = 1", "python")
    assert go_digests([go, py, go]) == {go_digest(go)}
    assert go_digest(go) != go_digest(spec("package main // other"))
