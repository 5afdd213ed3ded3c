"""The operation runner's tests (tests/unit/engine/test_runner.py) again, on the real store."""

from __future__ import annotations

import pytest

from engine.store import Store
from tests.fixtures.mongo_store import open_store
from tests.unit.engine.test_runner import (
    test_bounded_concurrency_and_per_key_order,
    test_wait_times_out_and_close_cancels,
)

__all__ = ["test_bounded_concurrency_and_per_key_order", "test_wait_times_out_and_close_cancels"]


@pytest.fixture
def store(mongo_uri: str, mongo_db_name: str) -> Store:
    return open_store(mongo_uri, mongo_db_name)
