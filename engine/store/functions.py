"""Functions (`lambda`) and their immutable history (`lambda.revision`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.records import FunctionConfig, FunctionRecord, Revision, Status
from engine.store.documents import (
    Doc,
    config_doc,
    function_doc,
    function_of,
    revision_doc,
    revision_of,
    status_doc,
)
from engine.store.guard import guard

FUNCTION_COLLECTION = "lambda"
REVISION_COLLECTION = "lambda.revision"


@dataclass(frozen=True)
class FunctionQuery:
    """A page of live functions, oldest first, after the position `after` (reg_date, key)."""

    limit: int
    name_prefix: str | None = None
    runtime: str | None = None
    phase: str | None = None
    after: tuple[datetime, str] | None = None

    def filter(self) -> Doc:
        query: Doc = {"disabled": False}
        if self.name_prefix:
            query["name"] = {"$regex": "^" + _escape_regex(self.name_prefix)}
        if self.runtime:
            query["runtime"] = self.runtime
        if self.phase:
            query["status.phase"] = self.phase
        if self.after:
            date, key = self.after
            query["$or"] = [{"reg_date": {"$gt": date}}, {"reg_date": date, "_id": {"$gt": key}}]
        return query


def _escape_regex(text: str) -> str:
    """Names are DNS labels, but a filter is user input: escape everything non-alphanumeric."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


class FunctionRepo:
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
            cursor = self._coll.find(query.filter()).sort([("reg_date", 1), ("_id", 1)])
            docs = await cursor.limit(query.limit).to_list()
        return [function_of(doc) for doc in docs]

    async def commit_revision(
        self,
        key: str,
        base_revision: int,
        config: FunctionConfig,
        status: Status,
        now: datetime,
    ) -> bool:
        """Point the function at revision `base_revision + 1`, only if it is still at
        `base_revision` (a compare-and-set: a lost race changes nothing)."""
        with guard("updating a function"):
            result = await self._coll.update_one(
                {"_id": key, "revision": base_revision, "disabled": False},
                {
                    "$set": {
                        **config_doc(config),
                        "revision": base_revision + 1,
                        "update_date": now,
                        "status": status_doc(status),
                    }
                },
            )
        return result.matched_count == 1

    async def set_status(
        self, key: str, status: Status, now: datetime, *, disabled: bool | None = None
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


class RevisionRepo:
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
