"""The real app (lifespan and all) on the session's MongoDB-wire server, with a fake target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH
from tests.fixtures.fake_target import FakeTarget

MAX_CODE_BYTES = 4096


@pytest.fixture
def settings(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Settings:
    return Settings(
        mongodb_uri=mongo_uri,
        database=mongo_db_name,
        data_dir=tmp_path,
        public_url="http://lambda.test",
        max_code_bytes=MAX_CODE_BYTES,
        store_timeout_ms=3000,
    )


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def client(settings: Settings, target: FakeTarget) -> Iterator[TestClient]:
    """Requests go to the public URL's host, one the control plane accepts writes for."""
    app = create_app(settings, target=target)
    with TestClient(app, base_url=settings.public_url, headers=AUTH) as test_client:
        yield test_client


@pytest.fixture
def db(mongo_uri: str, mongo_db_name: str) -> Iterator[Database[dict[str, Any]]]:
    mongo: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as mongo:
        yield mongo[mongo_db_name]
