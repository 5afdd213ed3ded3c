from __future__ import annotations

import re

from engine.keys import KEY_LENGTH, is_key, new_key


def test_keys_are_dns_label_safe_and_unique() -> None:
    keys = {new_key() for _ in range(2000)}
    assert len(keys) == 2000
    for key in keys:
        assert len(key) == KEY_LENGTH
        assert re.fullmatch(r"[a-z2-7]{26}", key)
        assert is_key(key)


def test_is_key_rejects_other_shapes() -> None:
    assert not is_key("A" * 26)
    assert not is_key("a" * 25)
    assert not is_key("a" * 25 + "1")
    assert not is_key("../" + "a" * 23)
