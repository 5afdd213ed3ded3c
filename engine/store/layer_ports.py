"""What layers need from storage: the published versions (metadata; their content is in the
code store) and the functions' claims on them (`LayerUse`), which a delete checks."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.layers import LayerState, LayerUse, LayerVersion


class LayerRepo(Protocol):
    async def insert(self, layer: LayerVersion) -> bool:
        """False when this name and version exist (a concurrent publish took the number)."""
        ...

    async def latest_version(self, name: str) -> int:
        """The highest version ever published under `name`, deleted ones included (0: none):
        a number is never given twice, as in Lambda."""
        ...

    async def get(self, name: str, version: int) -> LayerVersion | None:
        """The version in any state (deleted ones are kept as tombstones)."""
        ...

    async def versions(self, name: str) -> list[LayerVersion]:
        """The versions of `name` that are not deleted, newest first."""
        ...

    async def latest(self) -> list[LayerVersion]:
        """The newest version of every layer that has one not deleted, by name."""
        ...

    async def set_state(
        self, name: str, version: int, expected: LayerState, state: LayerState
    ) -> bool:
        """Compare-and-set of the version's state; False when it was not `expected`."""
        ...

    async def claim(self, use: LayerUse) -> None:
        """Record (or overwrite) `use`: one per layer version and function key."""
        ...

    async def release(
        self, name: str, version: int, key: str, *, at: datetime | None = None
    ) -> None:
        """Forget the claim; with `at`, only if it is still the one written then (a
        compare-and-delete: a newer claim of the same function stays)."""
        ...

    async def uses(self, name: str, version: int) -> list[LayerUse]: ...

    async def referenced(self, code_key: str, sha256: str) -> bool:
        """Whether the code-store blob `sha256` under `code_key` (`engine.layers.code_key`) is
        a version's that is not deleted (what the code sweep asks for a layer's key)."""
        ...
