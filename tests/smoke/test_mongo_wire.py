"""The store's boundary is a real MongoDB-wire server: round trip, unique index, update, find."""

from __future__ import annotations

import pymongo
import pytest
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError


def test_round_trip_with_unique_index(mongo_uri: str, mongo_db_name: str) -> None:
    client: pymongo.MongoClient[dict[str, object]]
    with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=3000) as client:
        things: Collection[dict[str, object]] = client[mongo_db_name]["things"]
        things.create_index("name", unique=True)
        things.insert_one({"_id": "a", "name": "alpha", "n": 1})

        with pytest.raises(DuplicateKeyError):
            things.insert_one({"_id": "b", "name": "alpha", "n": 2})

        updated = things.find_one_and_update(
            {"_id": "a"}, {"$inc": {"n": 41}}, return_document=pymongo.ReturnDocument.AFTER
        )
        assert updated is not None and updated["n"] == 42
        assert [d["_id"] for d in things.find({"n": {"$gt": 40}})] == ["a"]
        assert things.count_documents({}) == 1
