"""Resolving a function's layers (in memory): the content reference is filled in, and the
function with its layers stays within Lambda's 250 MB unpacked; a publish racing too many
others is a 409 to retry, with nothing recorded."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pytest

from api.errors import status_for
from engine.errors import LayerPublishConflict, PackageTooLarge, UnknownLayer
from engine.layer_service import LayerService, resolve_layers
from engine.layers import LayerVersion
from engine.locks import KeyLocks
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


def test_a_publish_that_never_finds_a_free_version_is_a_retryable_conflict() -> None:
    async def always_taken(layer: LayerVersion) -> bool:
        del layer
        return False  # every try loses its version number to another publish

    async def scenario() -> None:
        store = MemoryStore()
        store.layers.insert = always_taken  # type: ignore[method-assign]
        service = LayerService(store, KeyLocks())
        raw = zipped({"python/shared.py": "X = 1\n"})
        with pytest.raises(LayerPublishConflict) as caught:
            await service.publish("shared", raw)
        assert caught.value.code == "layer_publish_conflict"
        assert status_for(caught.value) == 409
        assert await store.layers.versions("shared") == []

    asyncio.run(scenario())


def zipped(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()
