"""Function source in MongoDB: one content-addressed blob per distinct code (`lambda.code`,
`_id` the sha256) and one reference document per function using it (`lambda.code.ref`, `_id`
`<sha>:<key>`).

Every write is an insert of a document that is never changed afterwards, so concurrent writes
of the same code are idempotent (a DuplicateKeyError means "already there") and none can be
lost. One `refs` array per blob, updated with `$addToSet`, lost references under load:
FerretDB 1.24 does not apply concurrent updates of one document atomically (20 parallel
creates kept 6 of 20 keys), and a lost reference lets `sweep` delete code still in use.
Blobs from before keep their `refs` array, read as references too. `sweep` removes blobs no
revision references (what a crash between writes leaves).

Code larger than one document can hold (a package: up to 50 MB zipped, base64 in its text;
FerretDB/MongoDB documents stop at 16 MB) is split into content-addressed chunks
(`lambda.code.chunk`, `_id` the chunk's sha256, at most `CHUNK_BYTES`), inserted before the
blob that lists them, so a blob that exists is complete. Chunks are shared by every blob that
has them, never updated; `sweep` removes the ones no blob lists (and none while a write may be
in progress: a reference younger than the cut-off).
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from datetime import datetime
from typing import Any

from bson.binary import Binary
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from engine.errors import CodeNotFound
from engine.records import utcnow
from engine.store.mongo.outages import guard
from engine.store.ports import IsReferenced

CODE_COLLECTION = "lambda.code"
REF_COLLECTION = "lambda.code.ref"
CHUNK_COLLECTION = "lambda.code.chunk"
CHUNK_BYTES = 4 * 1024 * 1024
"""Below FerretDB's 16 MB document limit with room to spare (and its batch sizes)."""
MONGO_PREFIX = f"mongo://{CODE_COLLECTION}/"
Coll = AsyncCollection[dict[str, Any]]


class MongoCodeStore:
    def __init__(self, collection: Coll) -> None:
        self._coll = collection
        self._refs: Coll = collection.database[REF_COLLECTION]
        self._chunks: Coll = collection.database[CHUNK_COLLECTION]

    async def prepare(self) -> None:
        """Nothing to create: references are found by `_id` range, blobs by the indexes."""

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        """The reference first: a sweep between the two inserts then keeps the blob."""
        del ext  # the sha is the name; the runtime knows the extension
        now = utcnow()
        with guard("storing code"):
            await _insert_once(self._refs, {"_id": f"{sha}:{key}", "key": key, "created": now})
            if await self._coll.find_one({"_id": sha}, {"_id": 1}) is not None:
                return MONGO_PREFIX + sha  # already whole: do not send it again
            raw = code.encode()
            blob: dict[str, Any] = {"_id": sha, "size": len(raw), "created": now}
            if len(raw) <= CHUNK_BYTES:
                blob["code"] = code
            else:
                blob["chunks"] = await self._put_chunks(raw, now)
            await _insert_once(self._coll, blob)
        return MONGO_PREFIX + sha

    async def _put_chunks(self, raw: bytes, now: datetime) -> list[str]:
        names: list[str] = []
        for start in range(0, len(raw), CHUNK_BYTES):
            part = raw[start : start + CHUNK_BYTES]
            name = hashlib.sha256(part).hexdigest()
            await _insert_once(self._chunks, {"_id": name, "data": Binary(part), "created": now})
            names.append(name)
        return names

    async def get(self, location: str) -> str:
        sha = location.removeprefix(MONGO_PREFIX)
        with guard("reading code"):
            doc = await self._coll.find_one({"_id": sha}, {"code": 1, "chunks": 1})
            if doc is None:
                raise CodeNotFound(f"code {location} is missing", detail={"location": location})
            if "chunks" not in doc:
                return str(doc["code"])
            return await self._joined(location, list(doc["chunks"]))

    async def _joined(self, location: str, names: list[str]) -> str:
        parts: dict[str, bytes] = {}
        for name in dict.fromkeys(names):  # one at a time: a batch of them could pass 16 MB
            chunk = await self._chunks.find_one({"_id": name}, {"data": 1})
            if chunk is None:
                raise CodeNotFound(f"a chunk of code {location} is missing", detail={"chunk": name})
            parts[name] = bytes(chunk["data"])
        return b"".join(parts[name] for name in names).decode()

    async def delete(self, key: str) -> None:
        with guard("deleting code"):
            refs = await self._refs.find({"key": key}, {"_id": 1}).to_list()
            await self._refs.delete_many({"key": key})
            await self._coll.update_many({"refs": key}, {"$pull": {"refs": key}})
            for sha in {ref["_id"].rpartition(":")[0] for ref in refs}:
                blob = await self._coll.find_one({"_id": sha}, {"refs": 1})
                used = await self._refs.find_one(_refs_of(sha), {"_id": 1})
                if blob is not None and not used and not blob.get("refs"):
                    await self._coll.delete_one({"_id": sha})

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        """Blobs written before `older_than` whose every user is gone (a reference newer than
        that may belong to a create still writing its revision: it keeps the blob)."""
        removed = 0
        with guard("sweeping code"):
            async for doc in self._coll.find({"created": {"$lt": older_than}}, {"refs": 1}):
                sha = doc["_id"]
                refs = await self._refs.find(_refs_of(sha)).to_list()
                dead = [
                    r["_id"] for r in refs if not await _alive(r, sha, is_referenced, older_than)
                ]
                legacy = [k for k in doc.get("refs", []) if await is_referenced(k, sha)]
                await self._refs.delete_many({"_id": {"$in": dead}})
                if len(dead) == len(refs) and not legacy:
                    await self._coll.delete_one({"_id": sha})
                    removed += 1
            await self._sweep_chunks(older_than)
        return removed

    async def _sweep_chunks(self, older_than: datetime) -> None:
        """Chunks no blob lists; skipped while any reference is younger than the cut-off (its
        writer may be about to insert the blob that lists an old chunk)."""
        if await self._refs.find_one({"created": {"$gte": older_than}}, {"_id": 1}):
            return
        listed: set[str] = set()
        async for blob in self._coll.find({"chunks": {"$exists": True}}, {"chunks": 1}):
            listed.update(blob["chunks"])
        async for chunk in self._chunks.find({"created": {"$lt": older_than}}, {"_id": 1}):
            if chunk["_id"] not in listed:
                await self._chunks.delete_one({"_id": chunk["_id"]})


async def _alive(ref: dict[str, Any], sha: str, is_referenced: IsReferenced, cut: datetime) -> bool:
    return bool(ref["created"] >= cut or await is_referenced(ref["key"], sha))


def _refs_of(sha: str) -> dict[str, Any]:
    """The references of blob `sha`: `_id`s from `<sha>:` up to `<sha>;` (`;` follows `:`)."""
    return {"_id": {"$gte": f"{sha}:", "$lt": f"{sha};"}}


async def _insert_once(collection: Coll, doc: dict[str, Any]) -> None:
    """Already there: written before (a retry) or by a concurrent writer of the same code."""
    with suppress(DuplicateKeyError):
        await collection.insert_one(doc)
