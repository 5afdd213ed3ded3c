"""Functions (`lambda`) and their immutable history (`lambda.revision`)."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.records import FunctionRecord, FunctionStatus, Revision, SpecRef
from engine.store.mongo.codec import (
    Doc,
    function_doc,
    function_of,
    revision_doc,
    revision_of,
    spec_doc,
    status_doc,
)
from engine.store.mongo.outages import guard
from engine.store.ports import FunctionQuery

FUNCTION_COLLECTION = "lambda"
REVISION_COLLECTION = "lambda.revision"


def query_filter(query: FunctionQuery) -> Doc:
    found: Doc = {"disabled": False}
    if query.name_prefix:
        found["name"] = {"$regex": "^" + _escape_regex(query.name_prefix)}
    if query.runtime:
        found["runtime"] = query.runtime
    if query.phase:
        found["status.phase"] = query.phase
    if query.after:
        date, key = query.after
        found["$or"] = [{"reg_date": {"$gt": date}}, {"reg_date": date, "_id": {"$gt": key}}]
    return found


def _escape_regex(text: str) -> str:
    """Names are DNS labels, but a filter is user input: ASCII letters and digits go through
    as they are, every other character as its code point (`\\x{2e}`, `\\x{20ac}`), the one
    escape RE2 (FerretDB) and PCRE (MongoDB) both read for any character."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


class MongoFunctionRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[FUNCTION_COLLECTION]

    async def insert(self, record: FunctionRecord) -> bool:
        """False when a function with this key exists (a retried create)."""
        with guard("creating a function"):
            try:
                await self._coll.insert_one(function_doc(record))
            except DuplicateKeyError:
                return False
        return True

    async def get(self, key: str) -> FunctionRecord | None:
        with guard("reading a function"):
            doc = await self._coll.find_one({"_id": key})
        return function_of(doc) if doc else None

    async def page(self, query: FunctionQuery) -> list[FunctionRecord]:
        with guard("listing functions"):
            cursor = self._coll.find(query_filter(query)).sort([("reg_date", 1), ("_id", 1)])
            docs = await cursor.limit(query.limit).to_list()
        return [function_of(doc) for doc in docs]

    async def commit_revision(
        self,
        key: str,
        base_revision: int,
        spec: SpecRef,
        status: FunctionStatus,
        now: datetime,
    ) -> bool:
        with guard("updating a function"):
            result = await self._coll.update_one(
                {"_id": key, "revision": base_revision, "disabled": False},
                {
                    "$set": {
                        **spec_doc(spec),
                        "revision": base_revision + 1,
                        "update_date": now,
                        "status": status_doc(status),
                    }
                },
            )
        return result.matched_count == 1

    async def set_status(
        self, key: str, status: FunctionStatus, now: datetime, *, disabled: bool | None = None
    ) -> None:
        fields: Doc = {"status": status_doc(status), "update_date": now}
        if disabled is not None:
            fields["disabled"] = disabled
        with guard("recording a function's status"):
            await self._coll.update_one({"_id": key}, {"$set": fields})

    async def unsettled(self) -> list[FunctionRecord]:
        """Functions whose desired generation the target has not finished (for recovery)."""
        with guard("finding unsettled functions"):
            docs = await self._coll.find(
                {"disabled": False, "status.phase": {"$in": ["Pending", "Deploying", "Deleting"]}}
            ).to_list()
        records = [function_of(doc) for doc in docs]
        return [r for r in records if r.status.generation != r.status.observed_generation]

    async def revisions_of_all(self) -> dict[str, int]:
        """key → current revision of every function, deleted ones included (for the sweep)."""
        with guard("reading revisions"):
            docs = await self._coll.find({}, {"revision": 1}).to_list()
        return {doc["_id"]: doc["revision"] for doc in docs}


class MongoRevisionRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[REVISION_COLLECTION]

    async def insert(self, revision: Revision) -> bool:
        """False when this (key, revision) already exists."""
        with guard("recording a revision"):
            try:
                await self._coll.insert_one(revision_doc(revision))
            except DuplicateKeyError:
                return False
        return True

    async def replace(self, revision: Revision) -> None:
        """Overwrite this (key, revision): only for an orphan, under the function's key lock
        (the function is still at the revision before it, so nothing refers to it)."""
        doc = revision_doc(revision)
        with guard("recording a revision"):
            await self._coll.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def get(self, key: str, revision: int) -> Revision | None:
        with guard("reading a revision"):
            doc = await self._coll.find_one({"key": key, "revision": revision})
        return revision_of(doc) if doc else None

    async def page(self, key: str, limit: int, before: int | None) -> list[Revision]:
        """Newest first."""
        query: Doc = {"key": key}
        if before is not None:
            query["revision"] = {"$lt": before}
        with guard("listing revisions"):
            docs = await self._coll.find(query).sort("revision", -1).limit(limit).to_list()
        return [revision_of(doc) for doc in docs]

    async def delete(self, key: str, revision: int) -> None:
        """Undo an insert whose function update lost its compare-and-set."""
        with guard("removing a revision"):
            await self._coll.delete_one({"key": key, "revision": revision})

    async def references(self, key: str, sha256: str) -> bool:
        with guard("checking code references"):
            found = await self._coll.find_one({"key": key, "code.sha256": sha256}, {"_id": 1})
        return found is not None

    async def delete_orphans(self, current: dict[str, int], older_than: datetime) -> int:
        """Delete revisions no function reaches: of a function that was never written, or
        numbered past its function's revision (a crash between the two writes)."""
        removed = 0
        with guard("sweeping revisions"):
            docs = await self._coll.find(
                {"created": {"$lt": older_than}}, {"key": 1, "revision": 1}
            ).to_list()
            for doc in docs:
                if doc["revision"] > current.get(doc["key"], 0):
                    await self._coll.delete_one({"_id": doc["_id"]})
                    removed += 1
        return removed
