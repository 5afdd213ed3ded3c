"""Resolving a function's layers (in memory): the content reference is filled in, and the
function with its layers stays within Lambda's 250 MB unpacked."""

from __future__ import annotations

import asyncio

import pytest

from engine.errors import PackageTooLarge, UnknownLayer
from engine.layer_service import resolve_layers
from engine.layers import LayerVersion
from engine.records import utcnow
from engine.store.memory import MemoryStore
from tests.fixtures.specs import make_spec

MB = 1024 * 1024


def version(name: str, unpacked: int, state: str = "active") -> LayerVersion:
    return LayerVersion(
        name,
        1,
        "ab" * 32,
        f"memory://{name}",
        10,
        unpacked,
        1,
        "",
        utcnow(),
        state,  # type: ignore[arg-type]
    )


def test_layers_resolve_to_their_content_and_count_towards_the_size_limit() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        for layer in (
            version("big", 200 * MB),
            version("more", 49 * MB),
            version("gone", 1, "deleting"),
        ):
            await store.layers.insert(layer)
        spec = await resolve_layers(store, make_spec("python", layers=["big:1", "more:1"]))
        assert [r.location for r in spec.config.layers] == ["memory://big", "memory://more"]
        code = "x" * (MB + 1)  # with 249 MB of layers, just over 250 MB
        with pytest.raises(PackageTooLarge):
            await resolve_layers(store, make_spec("python", code, layers=["big:1", "more:1"]))
        with pytest.raises(UnknownLayer):
            await resolve_layers(store, make_spec("python", layers=["gone:1"]))

    asyncio.run(scenario())
