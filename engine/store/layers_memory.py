"""The layer repository in memory, with the MongoDB adapter's rules (tests of the service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine import layers as lay
from engine.layers import LayerState, LayerUse, LayerVersion


@dataclass
class MemoryLayerRepo:
    records: dict[tuple[str, int], LayerVersion] = field(default_factory=dict)
    use_records: dict[tuple[str, int, str], LayerUse] = field(default_factory=dict)

    async def insert(self, layer: LayerVersion) -> bool:
        if (layer.name, layer.version) in self.records:
            return False
        self.records[layer.name, layer.version] = layer
        return True

    async def latest_version(self, name: str) -> int:
        return max((v for n, v in self.records if n == name), default=0)

    async def get(self, name: str, version: int) -> LayerVersion | None:
        return self.records.get((name, version))

    async def versions(self, name: str) -> list[LayerVersion]:
        found = [r for r in self.records.values() if r.name == name and r.state != "deleted"]
        return sorted(found, key=lambda r: -r.version)

    async def latest(self) -> list[LayerVersion]:
        newest: dict[str, LayerVersion] = {}
        for record in self.records.values():
            if record.state != "deleted" and record.version > getattr(
                newest.get(record.name), "version", 0
            ):
                newest[record.name] = record
        return [newest[name] for name in sorted(newest)]

    async def set_state(
        self, name: str, version: int, expected: LayerState, state: LayerState
    ) -> bool:
        record = self.records.get((name, version))
        if record is None or record.state != expected:
            return False
        self.records[name, version] = record.with_state(state)
        return True

    async def claim(self, use: LayerUse) -> None:
        self.use_records[use.name, use.version, use.key] = use

    async def release(
        self, name: str, version: int, key: str, *, at: datetime | None = None
    ) -> None:
        use = self.use_records.get((name, version, key))
        if use is not None and (at is None or use.at == at):
            del self.use_records[name, version, key]

    async def uses(self, name: str, version: int) -> list[LayerUse]:
        return [u for (n, v, _), u in self.use_records.items() if (n, v) == (name, version)]

    async def referenced(self, code_key: str, sha256: str) -> bool:
        return any(
            lay.code_key(r.name, r.version) == code_key and r.sha256 == sha256
            for r in self.records.values()
            if r.state != "deleted"
        )
