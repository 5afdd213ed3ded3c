"""Function packages at the door (real app, real FerretDB, fake target): hostile archives get a
4xx with a stable code and nothing is stored; a package larger than one MongoDB document is
stored in chunks and comes back whole."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient, MongoClient
from pymongo.database import Database

from engine import package
from engine.store.mongo import code_store
from tests.fixtures.api import counts, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.packages import zip_bomb, zip_of, zip_with_symlink

Db = Database[dict[str, Any]]
ZIP = {"content-type": "application/zip"}
DATA_BYTES = 12 * 1024 * 1024 + 512 * 1024
HANDLER = "export const handler = async () => ({ statusCode: 200, body: 'ok' });\n"
FIELDS = {"name": "pkg", "runtime": "node", "version": "20", "handler": "src/index.handler"}

BAD_ARCHIVES = {
    "zip-slip": (zip_of({"src/index.mjs": HANDLER, "../evil.sh": "x"}), 422, "package_unsafe_path"),
    "absolute": (zip_of({"src/index.mjs": HANDLER, "/etc/evil": "x"}), 422, "package_unsafe_path"),
    "symlink-out": (
        zip_with_symlink({"src/index.mjs": HANDLER}, "src/passwd", "../../etc/passwd"),
        422,
        "package_symlink",
    ),
    "bomb": (zip_bomb(64 * 1024 * 1024, **{"src/index.mjs": HANDLER}), 422, "package_bomb"),
    "no-handler-file": (zip_of({"src/other.mjs": HANDLER}), 422, "package_no_handler"),
    "not-a-zip": (b"PK\x03\x04 but nothing after", 422, "invalid_package"),
    "requirement-reads-a-file": (
        zip_of({"src/index.mjs": HANDLER, "requirements.txt": "-r /etc/shadow\n"}),
        422,
        "unsafe_dependency",
    ),
    "npm-local-dependency": (
        zip_of({"src/index.mjs": HANDLER, "package.json": '{"dependencies": {"x": "file:/"}}'}),
        422,
        "unsafe_dependency",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_bad_archives_are_refused_and_nothing_is_stored(
    client: TestClient, db: Db, case: str
) -> None:
    archive, status, code = BAD_ARCHIVES[case]
    before = counts(db)
    response = client.post("/lambda", content=archive, headers=ZIP, params=FIELDS)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert counts(db) == before
    assert db["lambda.code.chunk"].count_documents({}) == 0


def test_a_package_over_50_mb_zipped_is_413_unread(client: TestClient, db: Db) -> None:
    before = counts(db)
    too_big = b"PK\x03\x04" + b"\0" * package.Limits().zipped_bytes
    response = client.post("/lambda", content=too_big, headers=ZIP, params=FIELDS)
    assert response.status_code == 413, response.text
    assert error_code(response) == "package_too_large"
    assert response.json()["error"]["detail"]["limit"] == 50 * 1024 * 1024
    assert counts(db) == before


def test_a_small_zip_as_the_multipart_file_is_a_package(
    client: TestClient, target: FakeTarget
) -> None:
    archive = zip_of({"src/index.mjs": HANDLER})
    form = {k: (None, v) for k, v in FIELDS.items()} | {"file": ("f.zip", archive)}
    response = client.post("/lambda", files=form)
    assert response.status_code == 202, response.text
    op = wait_operation(client, response.json()["operation"]["id"])
    assert op["state"] == "succeeded", op
    applied = target.applied[response.json()["function"]["key"]]
    assert package.is_package(applied.code)
    assert [f.path for f in package.manifest(applied.code)] == ["src/index.mjs"]


def test_a_package_larger_than_a_document_is_stored_in_chunks(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    """12.5 MiB of incompressible data: 17 MB of code text, over FerretDB's 16 MB documents."""
    files: dict[str, str | bytes] = {"src/index.mjs": HANDLER, "data.bin": os.urandom(DATA_BYTES)}
    response = client.post("/lambda", content=zip_of(files), headers=ZIP, params=FIELDS)
    assert response.status_code == 202, response.text
    key = response.json()["function"]["key"]
    assert wait_operation(client, response.json()["operation"]["id"], 60)["state"] == "succeeded"
    assert db["lambda.code.chunk"].count_documents({}) >= 5  # 4 MiB each

    # The runner reads the code back from the store for a reconcile of the same revision: an
    # update that changes only a setting sends the stored package to the target whole.
    changed = client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert changed.status_code == 202, changed.text
    assert wait_operation(client, changed.json()["operation"]["id"], 60)["state"] == "succeeded"
    applied = target.applied[key]
    sizes = {f.path: f.size for f in package.manifest(applied.code)}
    assert sizes == {"data.bin": DATA_BYTES, "src/index.mjs": len(HANDLER)}
    assert package.decode(applied.code).archive == zip_of(files)


def test_query_fields_beside_the_routes_own_parameters(client: TestClient) -> None:
    """`wait` is the route's; `env` is JSON text and `memory_mb` digits, as in a form."""
    params = {**FIELDS, "wait": "true", "env": '{"GREETING": "hi"}', "memory_mb": "256"}
    archive = zip_of({"src/index.mjs": HANDLER})
    response = client.post("/lambda", content=archive, headers=ZIP, params=params)
    assert response.status_code == 200, response.text
    fn = response.json()["function"]
    assert fn["status"]["phase"] == "Ready"
    assert fn["env"] == {"GREETING": "hi"} and fn["memory_mb"] == 256
    twice = client.post(
        "/lambda", content=archive, headers=ZIP, params=[*FIELDS.items(), ("name", "b")]
    )
    assert twice.status_code == 422 and error_code(twice) == "duplicate_field"


def test_concurrent_identical_chunked_writes_keep_one_whole_copy(
    mongo_uri: str, mongo_db_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Insert-only chunks: 12 writers of the same code (as 12 functions) race; every reference
    is kept, the code reads back whole, each chunk exists once."""
    monkeypatch.setattr(code_store, "CHUNK_BYTES", 1024)
    text = package.read(zip_of({"src/index.mjs": HANDLER, "pad.bin": os.urandom(8000)})).encode()
    sha = "c" * 64

    async def race() -> tuple[list[str], str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
        try:
            store = code_store.MongoCodeStore(client[mongo_db_name][code_store.CODE_COLLECTION])
            keys = [f"key{i:02d}" + "x" * 19 for i in range(12)]
            locations = await asyncio.gather(*(store.put(k, sha, "zip", text) for k in keys))
            return locations, await store.get(locations[0])
        finally:
            await client.close()

    locations, back = asyncio.run(race())
    assert set(locations) == {code_store.MONGO_PREFIX + sha} and back == text
    chunks = -(-len(text.encode()) // 1024)
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri) as mongo:
        db: Db = mongo[mongo_db_name]
        assert db[code_store.CHUNK_COLLECTION].count_documents({}) == chunks
        assert db[code_store.REF_COLLECTION].count_documents({}) == 12
