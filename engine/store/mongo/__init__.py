"""The store on MongoDB (or FerretDB, which speaks its wire protocol): one repository per
collection behind one `MongoStore`, created by `connect`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient

from engine.store.mongo.access_repo import MongoAuditRepo, MongoTokenRepo
from engine.store.mongo.catalog_repo import MongoCatalogRepo
from engine.store.mongo.code_store import CODE_COLLECTION, MongoCodeStore
from engine.store.mongo.codec import Doc
from engine.store.mongo.function_repo import MongoFunctionRepo, MongoRevisionRepo
from engine.store.mongo.indexes import ensure_indexes
from engine.store.mongo.layer_repo import MongoLayerRepo
from engine.store.mongo.operation_repo import MongoIdempotencyRepo, MongoOperationRepo
from engine.store.mongo.outages import guard
from engine.store.ports import CodeStore

if TYPE_CHECKING:
    from engine.settings import Settings


@dataclass
class MongoStore:
    client: AsyncMongoClient[Doc]
    database: str
    code: CodeStore
    catalog: MongoCatalogRepo = field(init=False)
    functions: MongoFunctionRepo = field(init=False)
    revisions: MongoRevisionRepo = field(init=False)
    operations: MongoOperationRepo = field(init=False)
    idempotency: MongoIdempotencyRepo = field(init=False)
    tokens: MongoTokenRepo = field(init=False)
    audit: MongoAuditRepo = field(init=False)
    layers: MongoLayerRepo = field(init=False)

    def __post_init__(self) -> None:
        db = self.client[self.database]
        self.catalog = MongoCatalogRepo(db)
        self.functions = MongoFunctionRepo(db)
        self.revisions = MongoRevisionRepo(db)
        self.operations = MongoOperationRepo(db)
        self.idempotency = MongoIdempotencyRepo(db)
        self.tokens = MongoTokenRepo(db)
        self.audit = MongoAuditRepo(db)
        self.layers = MongoLayerRepo(db)

    async def ping(self) -> None:
        with guard("ping"):
            await self.client.admin.command("ping")

    async def prepare(self) -> None:
        await self.code.prepare()
        await ensure_indexes(self.client[self.database])

    async def close(self) -> None:
        await self.client.close()


def connect(
    uri: str,
    database: str,
    timeout_ms: int,
    code: CodeStore | None = None,
    *,
    heartbeat_timeout_ms: int | None = None,
    **options: Any,
) -> MongoStore:
    """A store on `uri` (no I/O yet: the driver connects lazily). Every call gives up after
    `timeout_ms` without a server, which the API turns into 503 instead of hanging.

    The connect timeout is also the driver's heartbeat timeout, and a heartbeat that times out
    cancels every operation in flight. On a loaded machine a healthy server can take seconds
    to answer one, so it is `heartbeat_timeout_ms` (`store_heartbeat_timeout_ms`), never less
    than `timeout_ms`: a server that is down refuses at once and is still noticed within
    `timeout_ms`; one that accepts and never answers, within the heartbeat timeout."""
    connect_ms = max(timeout_ms, heartbeat_timeout_ms or timeout_ms)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=connect_ms,
        socketTimeoutMS=max(timeout_ms * 10, 30_000),
        **options,
    )
    code_store = code or MongoCodeStore(client[database][CODE_COLLECTION])
    return MongoStore(client, database, code_store)


def connect_configured(settings: Settings, uri: str, code: CodeStore | None = None) -> MongoStore:
    """`connect` with the control plane's store settings (the API's and a build's)."""
    return connect(
        uri,
        settings.database,
        settings.store_timeout_ms,
        code,
        heartbeat_timeout_ms=settings.store_heartbeat_timeout_ms,
    )
