from pathlib import Path

import pytest

from engine.local.layout import Layout, is_safe_key, revision_name


def test_paths_are_rooted_under_data_dir_local() -> None:
    layout = Layout.under(Path("/data"))
    assert layout.root == Path("/data/local")
    assert layout.function_dir("abc") == Path("/data/local/functions/abc")
    assert layout.active_file("abc") == Path("/data/local/functions/abc/active.json")
    assert layout.log_file("abc") == Path("/data/local/functions/abc/logs/worker.log")
    assert layout.pid_file("abc", 42) == Path("/data/local/functions/abc/pids/42.json")
    assert layout.go_binary_dir("f00") == Path("/data/local/go-cache/f00")
    assert layout.gocache == Path("/data/local/gocache")


def test_revision_dir_uses_twelve_hash_chars() -> None:
    layout = Layout.under(Path("/d"))
    spec_hash = "0123456789abcdef" * 4
    assert revision_name(spec_hash) == "rev-0123456789ab"
    assert layout.revision_dir("k", spec_hash) == Path("/d/local/functions/k/rev-0123456789ab")


@pytest.mark.parametrize("key", ["", "..", "a/b", "a b", "x" * 129, "ключ", "a\x00"])
def test_unsafe_keys_are_refused(key: str) -> None:
    assert not is_safe_key(key)
    with pytest.raises(ValueError, match="unsafe"):
        Layout.under(Path("/d")).function_dir(key)


@pytest.mark.parametrize("key", ["a", "Ab-9_z", "x" * 128])
def test_url_safe_keys_are_accepted(key: str) -> None:
    assert is_safe_key(key)
