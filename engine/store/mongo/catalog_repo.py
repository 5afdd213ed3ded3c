"""The runtime catalog in `lambda.runtime` and the default choice in `lambda.default`."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.catalog import CatalogRecord, DefaultChoice, RuntimeEntry
from engine.records import utcnow
from engine.store.mongo.codec import Doc, catalog_record_of, default_of, runtime_doc
from engine.store.mongo.outages import guard
from engine.store.ports import SeedResult

RUNTIME_COLLECTION = "lambda.runtime"
DEFAULT_COLLECTION = "lambda.default"
DEFAULT_ID = "default"


class MongoCatalogRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._runtimes = db[RUNTIME_COLLECTION]
        self._default = db[DEFAULT_COLLECTION]

    async def is_empty(self) -> bool:
        with guard("reading the catalog"):
            return await self._runtimes.count_documents({}, limit=1) == 0

    async def runtimes(self, *, include_disabled: bool = False) -> list[CatalogRecord]:
        query: Doc = {} if include_disabled else {"disabled": False}
        with guard("reading the catalog"):
            docs = await self._runtimes.find(query).sort([("runtime", 1), ("version", 1)]).to_list()
        return [catalog_record_of(doc) for doc in docs]

    async def default(self) -> DefaultChoice | None:
        with guard("reading the default runtime"):
            doc = await self._default.find_one({"_id": DEFAULT_ID})
        return default_of(doc) if doc else None

    async def seed(self, entries: Sequence[RuntimeEntry], default: tuple[str, str]) -> SeedResult:
        """Upsert each entry by runtime+version (the `_id`); an unchanged entry is not touched,
        an operator's `disabled` flag is kept. Safe to run any number of times."""
        inserted = updated = 0
        with guard("seeding the catalog"):
            for entry in entries:
                fields = runtime_doc(entry)
                old = await self._runtimes.find_one({"_id": entry.id})
                if old is None:
                    inserted += await _insert_once(self._runtimes, {"_id": entry.id, **fields})
                elif any(old.get(name) != value for name, value in fields.items()):
                    await self._runtimes.update_one(
                        {"_id": entry.id}, {"$set": {**fields, "update_date": utcnow()}}
                    )
                    updated += 1
            inserted += await self._seed_default(default)
        return SeedResult(inserted, updated)

    async def _seed_default(self, default: tuple[str, str]) -> int:
        if await self._default.find_one({"_id": DEFAULT_ID}) is not None:
            return 0
        runtime, version = default
        return await _insert_once(
            self._default, {"_id": DEFAULT_ID, "runtime": runtime, "version": version}
        )


async def _insert_once(collection: AsyncCollection[Doc], doc: Doc) -> int:
    """Insert with fresh dates; a concurrent seed that won the race counts as no insert."""
    now = utcnow()
    try:
        await collection.insert_one({**doc, "disabled": False, "reg_date": now, "update_date": now})
    except DuplicateKeyError:
        return 0
    return 1
