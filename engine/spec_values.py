"""The value types a function's settings are made of (its env, sealed secrets, route
templates, limits): small frozen records, each with its own plain-data codec where the generic
one of `engine.spec` would not do. `engine.spec` re-exports them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runtimes.contract import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS

DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True)
class Env:
    """Environment variables, sorted, so equal maps give equal specs and hashes."""

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, values: Mapping[str, str] | None = None) -> Env:
        return cls(tuple(sorted((values or {}).items())))

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.items)

    def to_data(self) -> dict[str, str]:
        return self.as_dict()

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> Env:
        return cls.of({str(k): str(v) for k, v in data.items()})

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class SealedValue:
    ciphertext: str
    """base64url(nonce + AES-256-GCM ciphertext) under the set's data key."""
    fingerprint: str
    """A keyed hash of the value: tells values apart, reveals nothing (`engine.keyring`)."""


@dataclass(frozen=True)
class Secrets:
    """Secret environment variables, sealed (envelope encryption, see `engine.keyring`):
    stored, journaled and compared only this way; opened by a target when a worker starts."""

    data_key: str = ""
    """The set's data key, wrapped by the control plane's key (empty: no secrets)."""
    values: tuple[tuple[str, SealedValue], ...] = ()

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.values)

    def identity(self) -> dict[str, str]:
        """What hashes, previews and answers see: each name's fingerprint, never a value."""
        return {name: sealed.fingerprint for name, sealed in self.values}

    def to_data(self) -> dict[str, Any]:
        values = {n: {"ciphertext": v.ciphertext, "fingerprint": v.fingerprint} for n, v in self}
        return {"data_key": self.data_key, "values": values}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Secrets:
        values = data.get("values") or {}
        sealed = {
            n: SealedValue(str(v["ciphertext"]), str(v["fingerprint"])) for n, v in values.items()
        }
        return cls(str(data.get("data_key", "")), tuple(sorted(sealed.items())))

    def __iter__(self) -> Iterator[tuple[str, SealedValue]]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Routes:
    """A Lambda-convention function's route templates, in order (the first match wins):
    `runtimes.contract.parse_route` says what one may be."""

    items: tuple[str, ...] = ()

    def to_data(self) -> list[str]:
        return list(self.items)

    @classmethod
    def from_data(cls, data: object) -> Routes:
        """Anything but a list is kept as one item, for validation to refuse."""
        return cls(tuple(data) if isinstance(data, list | tuple) else (data,))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Limits:
    """Per-function resource settings, with Lambda's defaults."""

    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    concurrency: int = DEFAULT_CONCURRENCY
