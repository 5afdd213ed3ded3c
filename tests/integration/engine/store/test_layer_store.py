"""The layer service on the store adapters (FerretDB and memory): both orders of the race
between an attach and a delete, version numbers under concurrent publishes, and the code sweep
keeping layer content while its version lives."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from engine.errors import CodeNotFound, LayerVersionInUse, UnknownLayer
from engine.layer_service import LayerService, claimed_layers, is_referenced, resolve_layers
from engine.locks import KeyLocks
from engine.records import utcnow
from engine.spec import FunctionSpec
from engine.store import Store
from tests.fixtures.mongo_store import any_store
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

__all__ = ["any_store"]
LAYER = zip_of({"python/shared.py": "X = 1\n"})


async def attaching(store: Store, layers: list[str]) -> FunctionSpec:
    return await resolve_layers(store, make_spec("python", layers=layers))


def test_an_attach_whose_claim_lands_first_keeps_the_version(any_store: Store) -> None:
    async def scenario() -> None:
        layers = LayerService(any_store, KeyLocks())
        await layers.publish("race", LAYER)
        spec = await attaching(any_store, ["race:1"])
        attach = claimed_layers(any_store, spec)
        await attach.__aenter__()  # claimed and checked; its function writes are under way
        with pytest.raises(LayerVersionInUse) as refused:
            await layers.delete("race", 1)
        assert refused.value.detail["functions"] == [spec.key]
        assert (await layers.get("race", 1)).state == "active"  # put back
        # The attach fails after all: its claim goes, and the delete goes through.
        await attach.__aexit__(RuntimeError, RuntimeError("write failed"), None)
        await layers.delete("race", 1)
        assert await any_store.layers.versions("race") == []

    asyncio.run(scenario())


def test_a_delete_whose_mark_lands_first_refuses_the_attach(any_store: Store) -> None:
    async def scenario() -> None:
        layers = LayerService(any_store, KeyLocks())
        await layers.publish("race", LAYER)
        spec = await attaching(any_store, ["race:1"])  # resolved before the delete's mark
        assert await any_store.layers.set_state("race", 1, "active", "deleting")
        with pytest.raises(UnknownLayer):
            async with claimed_layers(any_store, spec):
                pytest.fail("the attach must not write while the version is being deleted")
        assert await any_store.layers.uses("race", 1) == []
        assert await any_store.layers.set_state("race", 1, "deleting", "active")
        await layers.delete("race", 1)  # nothing holds it

    asyncio.run(scenario())


def test_a_detached_function_no_longer_holds_the_version(any_store: Store) -> None:
    async def scenario() -> None:
        layers = LayerService(any_store, KeyLocks())
        await layers.publish("old", LAYER)
        spec = await attaching(any_store, ["old:1"])
        async with claimed_layers(any_store, spec):
            pass  # the function write "succeeded" but no function record references it
        assert [u.state for u in await any_store.layers.uses("old", 1)] == ["committed"]
        await layers.delete("old", 1)  # a committed claim whose function lacks it is stale
        assert await any_store.layers.uses("old", 1) == []

    asyncio.run(scenario())


def test_concurrent_publishes_of_one_name_get_distinct_versions(any_store: Store) -> None:
    async def scenario() -> None:
        layers = LayerService(any_store, KeyLocks())
        made = await asyncio.gather(*(layers.publish("busy", LAYER) for _ in range(5)))
        assert sorted(v.version for v in made) == [1, 2, 3, 4, 5]
        assert [v.version for v in await layers.versions("busy")] == [5, 4, 3, 2, 1]

    asyncio.run(scenario())


def test_the_code_sweep_keeps_a_live_versions_content(any_store: Store) -> None:
    async def scenario() -> None:
        layers = LayerService(any_store, KeyLocks())
        kept = await layers.publish("swept", LAYER)
        other = zip_of({"python/other.py": "Y = 2\n"})
        # what a publish that crashed before its record leaves: a blob nobody claims
        orphan = await layers.publish("orphan", other)
        await any_store.layers.set_state("orphan", 1, "active", "deleted")
        later = utcnow() + timedelta(minutes=1)
        await any_store.code.sweep(is_referenced(any_store), later)
        assert (await any_store.code.get(kept.location)).startswith("lambdaclone-package/1")
        with pytest.raises(CodeNotFound):
            await any_store.code.get(orphan.location)
        await layers.delete("swept", 1)
        with pytest.raises(CodeNotFound):
            await any_store.code.get(kept.location)

    asyncio.run(scenario())
