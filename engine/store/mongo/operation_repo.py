"""Operations (`lambda.operation`) and idempotency claims (`lambda.idempotency`)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.records import LIVE_STATES, ErrorInfo, Operation, OperationState, ProgressLine
from engine.store.mongo.codec import Doc, error_doc, operation_doc, operation_of
from engine.store.mongo.outages import guard
from engine.store.ports import IdempotencyClaim

OPERATION_COLLECTION = "lambda.operation"
IDEMPOTENCY_COLLECTION = "lambda.idempotency"


class MongoOperationRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[OPERATION_COLLECTION]

    async def insert(self, op: Operation) -> bool:
        """False when the operation exists already (a retried create re-uses its id)."""
        with guard("recording an operation"):
            try:
                await self._coll.insert_one(operation_doc(op))
            except DuplicateKeyError:
                return False
        return True

    async def get(self, operation_id: str) -> Operation | None:
        with guard("reading an operation"):
            doc = await self._coll.find_one({"_id": operation_id})
        return operation_of(doc) if doc else None

    async def for_key(self, key: str, limit: int) -> list[Operation]:
        """Newest first."""
        with guard("listing operations"):
            docs = await self._coll.find({"key": key}).sort("created", -1).limit(limit).to_list()
        return [operation_of(doc) for doc in docs]

    async def live(self, key: str | None = None) -> list[Operation]:
        """Queued or running operations, oldest first (the order they must run in)."""
        query: Doc = {"state": {"$in": list(LIVE_STATES)}}
        if key is not None:
            query["key"] = key
        with guard("listing live operations"):
            docs = await self._coll.find(query).sort("created", 1).to_list()
        return [operation_of(doc) for doc in docs]

    async def start(self, operation_id: str, now: datetime, note: str) -> Operation | None:
        """queued/running → running, counting the attempt; None if it already finished."""
        with guard("starting an operation"):
            doc = await self._coll.find_one_and_update(
                {"_id": operation_id, "state": {"$in": list(LIVE_STATES)}},
                {
                    "$set": {"state": "running", "started": now},
                    "$inc": {"attempts": 1},
                    "$push": {"progress": {"at": now, "message": note}},
                },
                return_document=ReturnDocument.AFTER,
            )
        return operation_of(doc) if doc else None

    async def append(self, operation_id: str, line: ProgressLine) -> None:
        with guard("recording progress"):
            await self._coll.update_one(
                {"_id": operation_id},
                {"$push": {"progress": {"at": line.at, "message": line.message}}},
            )

    async def finish(
        self, operation_id: str, state: OperationState, error: ErrorInfo | None, now: datetime
    ) -> Operation | None:
        with guard("finishing an operation"):
            doc = await self._coll.find_one_and_update(
                {"_id": operation_id},
                {"$set": {"state": state, "finished": now, "error": error_doc(error)}},
                return_document=ReturnDocument.AFTER,
            )
        return operation_of(doc) if doc else None


class MongoIdempotencyRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[IDEMPOTENCY_COLLECTION]

    async def claim(self, claim: IdempotencyClaim) -> IdempotencyClaim:
        """Record `claim` unless the idempotency key is taken; returns the claim in force."""
        doc: Doc = {
            "_id": claim.idempotency_key,
            "request_hash": claim.request_hash,
            "key": claim.key,
            "operation_id": claim.operation_id,
            "created": claim.created,
        }
        with guard("recording an idempotency key"):
            try:
                await self._coll.insert_one(doc)
            except DuplicateKeyError:
                doc = await self._coll.find_one({"_id": claim.idempotency_key}) or doc
        return IdempotencyClaim(
            doc["_id"], doc["request_hash"], doc["key"], doc["operation_id"], doc["created"]
        )
