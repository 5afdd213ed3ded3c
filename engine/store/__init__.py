"""What the control plane keeps: the ports (`engine.store.ports`) and their implementations,
on MongoDB (`engine.store.mongo`), S3 for code (`engine.store.s3`) and in memory
(`engine.store.memory`)."""

from engine.store.ports import (
    CodeStore,
    FunctionQuery,
    IdempotencyClaim,
    SeedResult,
    Store,
)

__all__ = ["CodeStore", "FunctionQuery", "IdempotencyClaim", "SeedResult", "Store"]
