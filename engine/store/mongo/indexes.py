"""Every index a query of the store relies on, created at start-up (idempotently).

FerretDB 1.24 (the embedded/test server) refuses some index options (TTL, partial filters),
so only plain and unique indexes are used; and a `createIndexes` naming several indexes that
already exist makes it drop the connection (a server panic), so each index is its own command.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from engine.store.mongo.access_repo import AUDIT_COLLECTION, TOKEN_COLLECTION
from engine.store.mongo.catalog_repo import RUNTIME_COLLECTION
from engine.store.mongo.code_store import CODE_COLLECTION, REF_COLLECTION
from engine.store.mongo.codec import Doc
from engine.store.mongo.function_repo import FUNCTION_COLLECTION, REVISION_COLLECTION
from engine.store.mongo.layer_repo import LAYER_COLLECTION, LAYER_USE_COLLECTION
from engine.store.mongo.operation_repo import OPERATION_COLLECTION
from engine.store.mongo.outages import guard

INDEXES: dict[str, list[IndexModel]] = {
    FUNCTION_COLLECTION: [
        # GET /lambda/list: live functions in creation order (the cursor is reg_date, _id)
        IndexModel([("disabled", ASCENDING), ("reg_date", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("name", ASCENDING)]),  # name-prefix filter
        IndexModel([("runtime", ASCENDING), ("version", ASCENDING)]),
        IndexModel([("status.phase", ASCENDING)]),  # phase filter, recovery
    ],
    REVISION_COLLECTION: [
        IndexModel([("key", ASCENDING), ("revision", DESCENDING)], unique=True),
        IndexModel([("key", ASCENDING), ("code.sha256", ASCENDING)]),  # code sweep
        IndexModel([("created", ASCENDING)]),  # revision sweep
    ],
    OPERATION_COLLECTION: [
        IndexModel([("key", ASCENDING), ("created", DESCENDING)]),
        IndexModel([("state", ASCENDING), ("created", ASCENDING)]),  # live operations
    ],
    RUNTIME_COLLECTION: [
        IndexModel([("runtime", ASCENDING), ("version", ASCENDING)], unique=True),
    ],
    TOKEN_COLLECTION: [IndexModel([("secret_hash", ASCENDING)], unique=True)],
    AUDIT_COLLECTION: [IndexModel([("at", DESCENDING)])],
    CODE_COLLECTION: [IndexModel([("refs", ASCENDING)]), IndexModel([("created", ASCENDING)])],
    REF_COLLECTION: [IndexModel([("key", ASCENDING)])],  # the code a function's key uses
    LAYER_COLLECTION: [
        IndexModel([("name", ASCENDING), ("version", DESCENDING)]),
        IndexModel([("code_key", ASCENDING)]),  # code sweep
    ],
    LAYER_USE_COLLECTION: [IndexModel([("name", ASCENDING), ("version", ASCENDING)])],
}


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    with guard("creating indexes"):
        for collection, models in INDEXES.items():
            for model in models:
                await db[collection].create_indexes([model])
