"""Translate the driver's connection failures into the platform's `StoreUnavailable`.

Only outages are translated (the API answers 503 and the client may retry); other driver
errors are bugs or unsupported operations and propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from engine.errors import StoreUnavailable

OUTAGES = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


@contextmanager
def guard(action: str) -> Iterator[None]:
    try:
        yield
    except OUTAGES as exc:
        raise StoreUnavailable(
            f"MongoDB is unavailable ({action}): {type(exc).__name__}",
            detail={"action": action},
        ) from exc
