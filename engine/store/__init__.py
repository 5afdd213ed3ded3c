"""The control plane's MongoDB store: one repository per collection, behind one `Store`.

Writes never span documents atomically (FerretDB has no multi-document transactions), so every
multi-step change is ordered so that a crash between steps leaves either nothing visible or
something recovery finishes: code blob → revision → function → operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from engine.codestore import CodeStore, MongoCodeStore
from engine.store.catalog import CatalogRepo, SeedResult
from engine.store.documents import Doc
from engine.store.functions import FunctionQuery, FunctionRepo, RevisionRepo
from engine.store.guard import guard
from engine.store.indexes import ensure_indexes
from engine.store.operations import IdempotencyClaim, IdempotencyRepo, OperationRepo

CODE_COLLECTION = "lambda.code"

__all__ = [
    "CODE_COLLECTION",
    "FunctionQuery",
    "IdempotencyClaim",
    "SeedResult",
    "Store",
    "connect",
]


@dataclass
class Store:
    client: AsyncMongoClient[Doc]
    database: str
    code: CodeStore
    catalog: CatalogRepo = field(init=False)
    functions: FunctionRepo = field(init=False)
    revisions: RevisionRepo = field(init=False)
    operations: OperationRepo = field(init=False)
    idempotency: IdempotencyRepo = field(init=False)

    def __post_init__(self) -> None:
        db = self.client[self.database]
        self.catalog = CatalogRepo(db)
        self.functions = FunctionRepo(db)
        self.revisions = RevisionRepo(db)
        self.operations = OperationRepo(db)
        self.idempotency = IdempotencyRepo(db)

    async def ping(self) -> None:
        with guard("ping"):
            await self.client.admin.command("ping")

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.client[self.database])

    async def close(self) -> None:
        await self.client.close()


def connect(
    uri: str, database: str, timeout_ms: int, code: CodeStore | None = None, **options: Any
) -> Store:
    """A store on `uri` (no I/O yet: the driver connects lazily). Every call gives up after
    `timeout_ms` without a server, which the API turns into 503 instead of hanging."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 10, 30_000),
        **options,
    )
    code_store = code or MongoCodeStore(client[database][CODE_COLLECTION])
    return Store(client, database, code_store)
