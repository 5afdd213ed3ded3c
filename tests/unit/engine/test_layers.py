"""The layers value: what a client may send, what previews and hashes see, Lambda's limits."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.keys import is_key, nameable, new_key
from engine.layers import LayerRef, Layers, code_key, is_code_key
from engine.spec import FunctionConfig
from runtimes.registry import RuntimeName

BASE = FunctionConfig("fn", RuntimeName("python"), "3.12", "app.handler")


def test_refs_are_name_version_or_a_layer_version_arn() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:my-layer_2:7"
    config = BASE.merged({"layers": ["utils:1", arn]})
    assert [(r.name, r.version) for r in config.layers] == [("utils", 1), ("my-layer_2", 7)]
    assert config.identity_data()["layers"] == ["utils:1", "my-layer_2:7"]


@pytest.mark.parametrize(
    ("layers", "code"),
    [
        (["utils"], "invalid_layer"),
        (["utils:0"], "invalid_layer"),
        (["utils:x"], "invalid_layer"),
        (["bad name:1"], "invalid_layer"),
        ([7], "invalid_layer"),
        ("utils:1", "invalid_layer"),
        (["a:1", "a:1"], "invalid_layer"),
        ([f"l{n}:1" for n in range(6)], "too_many_layers"),
    ],
)
def test_what_is_refused(layers: object, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        BASE.merged({"layers": layers})
    assert refused.value.code == code


def test_stored_refs_round_trip_with_their_content_reference() -> None:
    ref = LayerRef("utils", 3, "ab" * 32, 1234, "mongo://lambda.code/" + "ab" * 32)
    config = FunctionConfig(**{**vars(BASE), "layers": Layers((ref,))})
    assert FunctionConfig.from_data(config.to_data()) == config
    # the same version resolved or not is the same setting for hashes and previews
    assert config.identity_data() == BASE.merged({"layers": ["utils:3"]}).identity_data()


def test_layer_content_keys_are_nameable_and_never_a_function_key() -> None:
    key = code_key("My_Layer-" + "x" * 131, 12345)
    assert nameable(key) and is_code_key(key) and not is_key(key)
    assert code_key("a", 1) != code_key("a", 2) != code_key("b", 1)
    assert not is_code_key(new_key())
