"""Function source in MongoDB (`lambda.code`): one content-addressed blob per distinct code.

`_id` is the sha256, `refs` the keys of the functions using it. Writes are idempotent (same
sha → same blob), which is what lets a crashed create be retried; `sweep` removes blobs no
revision references (what a crash between writes leaves).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from engine.errors import CodeNotFound
from engine.records import utcnow
from engine.store.mongo.outages import guard
from engine.store.ports import IsReferenced

CODE_COLLECTION = "lambda.code"
MONGO_PREFIX = f"mongo://{CODE_COLLECTION}/"
UPSERT_ATTEMPTS = 3


class MongoCodeStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._coll = collection

    async def prepare(self) -> None:
        """Nothing to create: the collection's indexes come with the others."""

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        del ext  # the sha is the name; the runtime knows the extension
        with guard("storing code"):
            await self._upsert(key, sha, code)
        return MONGO_PREFIX + sha

    async def _upsert(self, key: str, sha: str, code: str) -> None:
        """Two upserts of one new `_id` may both try the insert; the loser's
        DuplicateKeyError means the blob now exists, so its update is simply retried."""
        update = {
            "$setOnInsert": {"code": code, "size": len(code.encode()), "created": utcnow()},
            "$addToSet": {"refs": key},
        }
        for attempt in range(UPSERT_ATTEMPTS):
            try:
                await self._coll.update_one({"_id": sha}, update, upsert=True)
            except DuplicateKeyError:
                if attempt == UPSERT_ATTEMPTS - 1:
                    raise
            else:
                return

    async def get(self, location: str) -> str:
        sha = location.removeprefix(MONGO_PREFIX)
        with guard("reading code"):
            doc = await self._coll.find_one({"_id": sha}, {"code": 1})
        if doc is None:
            raise CodeNotFound(f"code {location} is missing", detail={"location": location})
        return str(doc["code"])

    async def delete(self, key: str) -> None:
        with guard("deleting code"):
            await self._coll.update_many({"refs": key}, {"$pull": {"refs": key}})
            await self._coll.delete_many({"refs": {"$size": 0}})

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        removed = 0
        with guard("sweeping code"):
            async for doc in self._coll.find({"created": {"$lt": older_than}}, {"refs": 1}):
                refs = [k for k in doc.get("refs", []) if await is_referenced(k, doc["_id"])]
                if refs:
                    await self._coll.update_one({"_id": doc["_id"]}, {"$set": {"refs": refs}})
                else:
                    await self._coll.delete_one({"_id": doc["_id"]})
                    removed += 1
        return removed
