"""Layer versions in `lambda.layer` (`_id` `<name>:<version>`, never reused: a deleted version
stays as a tombstone) and the functions' claims on them in `lambda.layer.use` (`_id`
`<name>:<version>:<key>`). Every write is an insert of a fresh `_id`, a compare-and-set of one
document's state, or an upsert of one claim: FerretDB has no multi-document transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine import layers as lay
from engine.layers import LayerState, LayerUse, LayerVersion
from engine.store.mongo.codec import Doc
from engine.store.mongo.outages import guard

LAYER_COLLECTION = "lambda.layer"
LAYER_USE_COLLECTION = "lambda.layer.use"


class MongoLayerRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db[LAYER_COLLECTION]
        self._uses = db[LAYER_USE_COLLECTION]

    async def insert(self, layer: LayerVersion) -> bool:
        with guard("recording a layer version"):
            try:
                await self._coll.insert_one(_doc(layer))
            except DuplicateKeyError:
                return False
        return True

    async def latest_version(self, name: str) -> int:
        with guard("reading layer versions"):
            doc = await self._coll.find_one({"name": name}, {"version": 1}, sort=[("version", -1)])
        return int(doc["version"]) if doc else 0

    async def get(self, name: str, version: int) -> LayerVersion | None:
        with guard("reading a layer version"):
            doc = await self._coll.find_one({"_id": _id(name, version)})
        return _layer(doc) if doc else None

    async def versions(self, name: str) -> list[LayerVersion]:
        query = {"name": name, "state": {"$ne": "deleted"}}
        with guard("reading layer versions"):
            docs = await self._coll.find(query).sort([("version", -1)]).to_list()
        return [_layer(doc) for doc in docs]

    async def latest(self) -> list[LayerVersion]:
        query = {"state": {"$ne": "deleted"}}
        with guard("reading layers"):
            docs = await self._coll.find(query).sort([("name", 1), ("version", -1)]).to_list()
        newest: dict[str, LayerVersion] = {}
        for doc in docs:
            newest.setdefault(str(doc["name"]), _layer(doc))
        return list(newest.values())

    async def set_state(
        self, name: str, version: int, expected: LayerState, state: LayerState
    ) -> bool:
        with guard("changing a layer version"):
            result = await self._coll.update_one(
                {"_id": _id(name, version), "state": expected}, {"$set": {"state": state}}
            )
        return result.modified_count == 1

    async def claim(self, use: LayerUse) -> None:
        doc = {"name": use.name, "version": use.version, "key": use.key}
        fields = {**doc, "state": use.state, "at": use.at}
        with guard("recording a layer's use"):
            await self._uses.replace_one(
                {"_id": f"{_id(use.name, use.version)}:{use.key}"}, fields, upsert=True
            )

    async def release(
        self, name: str, version: int, key: str, *, at: datetime | None = None
    ) -> None:
        query: Doc = {"_id": f"{_id(name, version)}:{key}"}
        if at is not None:
            query["at"] = at
        with guard("releasing a layer's use"):
            await self._uses.delete_one(query)

    async def uses(self, name: str, version: int) -> list[LayerUse]:
        with guard("reading a layer's uses"):
            docs = await self._uses.find({"name": name, "version": version}).to_list()
        return [
            LayerUse(str(d["name"]), int(d["version"]), str(d["key"]), d["state"], d["at"])
            for d in docs
        ]

    async def referenced(self, code_key: str, sha256: str) -> bool:
        query = {"code_key": code_key, "sha256": sha256, "state": {"$ne": "deleted"}}
        with guard("reading a layer version"):
            return await self._coll.find_one(query, {"_id": 1}) is not None


def _id(name: str, version: int) -> str:
    return f"{name}:{version}"


def _doc(layer: LayerVersion) -> dict[str, Any]:
    return {
        "_id": _id(layer.name, layer.version),
        "name": layer.name,
        "version": layer.version,
        "sha256": layer.sha256,
        "code_key": lay.code_key(layer.name, layer.version),
        "location": layer.location,
        "zipped_bytes": layer.zipped_bytes,
        "unpacked_bytes": layer.unpacked_bytes,
        "files": layer.files,
        "description": layer.description,
        "created": layer.created,
        "state": layer.state,
    }


def _layer(doc: Doc) -> LayerVersion:
    return LayerVersion(
        name=str(doc["name"]),
        version=int(doc["version"]),
        sha256=str(doc["sha256"]),
        location=str(doc["location"]),
        zipped_bytes=int(doc["zipped_bytes"]),
        unpacked_bytes=int(doc["unpacked_bytes"]),
        files=int(doc["files"]),
        description=str(doc.get("description", "")),
        created=doc["created"],
        state=doc.get("state", "active"),
    )
