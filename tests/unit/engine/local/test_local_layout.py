from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.local.layout import Layout, deployment_name


def test_paths_are_rooted_under_data_dir_local() -> None:
    layout = Layout.under(Path("/data"))
    assert layout.root == Path("/data/local")
    assert layout.function_dir("abc") == Path("/data/local/functions/abc")
    assert layout.active_file("abc") == Path("/data/local/functions/abc/active.json")
    assert layout.log_file("abc") == Path("/data/local/functions/abc/logs/worker.log")
    assert layout.spares == Path("/data/local/spares")
    assert layout.artifact_dir("f00") == Path("/data/local/artifacts/f00")
    assert layout.build_cache("golang") == Path("/data/local/build-cache/golang")


def test_deployment_dir_uses_twelve_hash_chars() -> None:
    layout = Layout.under(Path("/d"))
    spec_hash = "0123456789abcdef" * 4
    assert deployment_name(spec_hash) == "spec-0123456789ab"
    assert layout.deployment_dir("k", spec_hash) == Path("/d/local/functions/k/spec-0123456789ab")


@pytest.mark.parametrize("key", ["", "..", "a/b", "a b", "x" * 61, "ключ", "a\x00", "A", "-a"])
def test_keys_that_cannot_name_a_directory_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        Layout.under(Path("/d")).function_dir(key)


@pytest.mark.parametrize("key", ["a", "ab-9z", "x" * 60])
def test_nameable_keys_are_accepted(key: str) -> None:
    assert Layout.under(Path("/d")).function_dir(key).name == key
