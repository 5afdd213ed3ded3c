"""The spec hash names a function's deployments on disk and rolls its pods on Kubernetes: it
must change with what runs, and only with that."""

from __future__ import annotations

from dataclasses import replace

from engine.spec import Env, FunctionConfig, FunctionSpec, Limits
from runtimes.registry import RuntimeName

SPEC = FunctionSpec(
    key="k1",
    config=FunctionConfig("f", RuntimeName("python"), "3.12", "handler.handler"),
    code="def handler(event, context):\n    return 1\n",
    image="img/py:3.12",
)
PINNED = "9a3b407f585b80b4"
"""The hash this spec had when it was pinned: a release that adds a setting with a default
must not change it, or every deployed function would be redeployed on upgrade."""


def test_a_spec_at_default_settings_keeps_its_hash_across_releases() -> None:
    assert SPEC.spec_hash.startswith(PINNED), SPEC.spec_hash


def test_the_hash_follows_every_change_including_back_to_a_default() -> None:
    bigger = replace(SPEC, config=replace(SPEC.config, limits=Limits(memory_mb=256)))
    with_env = replace(SPEC, config=replace(SPEC.config, env=Env.of({"A": "1"})))
    hashes = {SPEC.spec_hash, bigger.spec_hash, with_env.spec_hash}
    assert len(hashes) == 3
    back = replace(bigger, config=replace(bigger.config, limits=Limits(memory_mb=128)))
    assert back.spec_hash == SPEC.spec_hash
    assert replace(SPEC, code=SPEC.code + "#").spec_hash != SPEC.spec_hash
