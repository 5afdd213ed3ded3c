"""Both code stores against real servers: MongoDB-wire (FerretDB) and S3 (moto)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import boto3
import pytest

from engine.errors import CodeNotFound, StoreUnavailable
from engine.net import free_port
from engine.records import utcnow
from engine.spec import sha256_text
from engine.store import CodeStore
from engine.store.memory import MemoryCodeStore
from engine.store.s3 import S3CodeStore
from tests.fixtures.mongo_store import open_store


def s3_store(endpoint: str, bucket: str | None = None) -> S3CodeStore:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return S3CodeStore(client, bucket or f"code-{uuid.uuid4().hex[:8]}")


async def exercise(store: CodeStore, scheme: str) -> None:
    code = "print('hé')\n"
    sha = sha256_text(code)
    location = await store.put("key1", sha, "py", code)
    assert location.startswith(scheme)
    assert await store.put("key1", sha, "py", code) == location  # idempotent
    assert await store.get(location) == code
    await store.put("key2", sha, "py", code)

    async def referenced(key: str, digest: str) -> bool:
        return key == "key2" and digest == sha

    later = utcnow() + timedelta(minutes=1)
    await store.sweep(referenced, later)  # key1's copy is unreferenced
    location2 = await store.put("key2", sha, "py", code)
    assert await store.get(location2) == code
    await store.delete("key2")
    with pytest.raises(CodeNotFound):
        await store.get(location2)


def test_mongo_code_store(mongo_uri: str, mongo_db_name: str) -> None:
    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        await exercise(store.code, "mongo://lambda.code/")
        await store.close()

    asyncio.run(scenario())


def test_memory_code_store() -> None:
    asyncio.run(exercise(MemoryCodeStore(), "memory://"))


def test_concurrent_puts_of_one_new_code_all_succeed(mongo_uri: str, mongo_db_name: str) -> None:
    """Twenty creates with the same new code race to insert one content-addressed blob."""

    async def scenario() -> None:
        store = open_store(mongo_uri, mongo_db_name)
        await store.prepare()
        code = f"print({uuid.uuid4().hex!r})\n"
        sha = sha256_text(code)
        puts = [store.code.put(f"key{n}", sha, "py", code) for n in range(20)]
        locations = await asyncio.gather(*puts)
        assert set(locations) == {f"mongo://lambda.code/{sha}"}
        assert await store.code.get(locations[0]) == code
        await store.close()

    asyncio.run(scenario())


def test_s3_code_store(s3_endpoint: str) -> None:
    async def scenario() -> None:
        store = s3_store(s3_endpoint)
        await store.prepare()
        await store.prepare()
        await exercise(store, "s3://")
        location = await store.put("k", "abc", "mjs", "x")
        assert location.endswith("/functions/k/abc.mjs")

    asyncio.run(scenario())


def test_s3_outage_is_store_unavailable() -> None:
    async def scenario() -> None:
        store = s3_store(f"http://127.0.0.1:{free_port()}", "nowhere")
        with pytest.raises(StoreUnavailable):
            await store.get("s3://nowhere/functions/k/x.py")

    asyncio.run(scenario())
