"""API tokens (`lambda.token`) and the audit log (`lambda.audit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.access import TokenRecord
from engine.audit import AuditEntry
from engine.store.mongo.codec import Doc, audit_doc, audit_of, token_doc, token_of
from engine.store.mongo.outages import guard

TOKEN_COLLECTION = "lambda.token"  # noqa: S105 - a collection name
AUDIT_COLLECTION = "lambda.audit"


class MongoTokenRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[TOKEN_COLLECTION]

    async def insert(self, token: TokenRecord) -> bool:
        with guard("recording a token"):
            try:
                await self._coll.insert_one(token_doc(token))
            except DuplicateKeyError:
                return False
        return True

    async def all(self) -> list[TokenRecord]:
        with guard("reading tokens"):
            docs = await self._coll.find({}).sort([("created", 1), ("_id", 1)]).to_list()
        return [token_of(doc) for doc in docs]

    async def get(self, token_id: str) -> TokenRecord | None:
        with guard("reading a token"):
            doc = await self._coll.find_one({"_id": token_id})
        return token_of(doc) if doc else None

    async def revoke(self, token_id: str, now: datetime) -> TokenRecord | None:
        with guard("revoking a token"):
            await self._coll.update_one(
                {"_id": token_id, "revoked": None}, {"$set": {"revoked": now}}
            )
            doc = await self._coll.find_one({"_id": token_id})
        return token_of(doc) if doc else None

    async def touch(self, token_id: str, when: datetime) -> None:
        with guard("recording a token's use"):
            await self._coll.update_one({"_id": token_id}, {"$set": {"last_used": when}})


class MongoAuditRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[AUDIT_COLLECTION]

    async def insert(self, entry: AuditEntry) -> None:
        with guard("recording an audit entry"):
            await self._coll.insert_one(audit_doc(entry))

    async def page(self, limit: int, before: datetime | None) -> list[AuditEntry]:
        query: dict[str, Any] = {"at": {"$lt": before}} if before else {}
        with guard("reading the audit log"):
            docs = await self._coll.find(query).sort("at", -1).limit(limit).to_list()
        return [audit_of(doc) for doc in docs]
