"""Builders shared by the store integration tests (each test gets a fresh database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.keys import new_key
from engine.records import CodeRef, FunctionConfig, FunctionRecord, Operation, Status, utcnow
from engine.spec import Limits, sha256_text
from engine.store import Store, connect


def open_store(uri: str, database: str, **options: Any) -> Store:
    return connect(uri, database, 3000, **options)


def config(name: str = "fn", code: str = "print(1)", memory_mb: int = 128) -> FunctionConfig:
    sha = sha256_text(code)
    return FunctionConfig(
        name=name,
        runtime="python",
        version="3.12",
        handler="handler.handler",
        image="lambdaclone/runtime-python:3.12",
        code=CodeRef(sha, len(code), f"mongo://lambda.code/{sha}"),
        spec_hash=sha256_text(f"{name}{code}{memory_mb}"),
        limits=Limits(memory_mb=memory_mb),
    )


def record(
    name: str = "fn", when: datetime | None = None, key: str | None = None
) -> FunctionRecord:
    now = when or utcnow()
    return FunctionRecord(key or new_key(), config(name), 1, now, now, Status(operation_id="op"))


def operation(key: str, kind: str = "create", when: datetime | None = None) -> Operation:
    return Operation(new_key(), key, kind, 1, 1, when or utcnow())  # type: ignore[arg-type]
