"""Layers, as Lambda has them: versioned, immutable zips of shared files that a function
attaches (at most five, in order) and finds under /opt — `python/`, `nodejs/node_modules/`,
`bin/`, `lib/`, as Lambda lays them out. Pure: the values and rules, no I/O.

A function's `layers` setting is a `Layers` value: what a client sends (`"name:version"` or a
Lambda layer-version ARN) parses to refs without content; the service resolves each to the
version's stored content (its sha256, unpacked size and code location) before anything is
written. Previews, hashes and answers see only `name:version` (`identity`): a version never
changes, so its name and number are its identity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from engine.errors import InvalidInput

MAX_LAYERS = 5
"""Lambda's limit of layers per function."""
NAME_MAX = 140
_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{NAME_MAX}}}")
_ARN = re.compile(r"arn:[A-Za-z0-9-]+:lambda:[A-Za-z0-9-]+:\d{12}:layer:(?P<ref>.+)")
CODE_KEY_PREFIX = "layer-"
"""Layer content is kept in the code store under `layer-<version>-<digest of the name>`: a
name every code store takes (S3's paths too), never a generated function key (no `-`)."""

LayerState = Literal["active", "deleting", "deleted"]


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"a layer name is 1-{NAME_MAX} letters, digits, '-' or '_', not {name!r}",
            field="name",
            code="invalid_layer_name",
        )
    return name


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(
            f"a layer version is a number from 1, not {version!r}",
            field="version",
            code="invalid_layer",
        )
    return version


def code_key(name: str, version: int) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    return f"{CODE_KEY_PREFIX}{version}-{digest}"


def is_code_key(key: str) -> bool:
    """Whether a code-store key is a layer version's (else a function's)."""
    return key.startswith(CODE_KEY_PREFIX)


@dataclass(frozen=True)
class LayerRef:
    """One attached layer version; `sha256`, `unpacked_bytes` and `location` are filled in
    when the service resolves it (empty in what a client sent)."""

    name: str
    version: int
    sha256: str = ""
    unpacked_bytes: int = 0
    location: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def resolved(self) -> bool:
        return bool(self.sha256 and self.location)

    @classmethod
    def parse(cls, raw: object) -> LayerRef:
        """`name:version`, a Lambda layer-version ARN, or the stored mapping."""
        if isinstance(raw, dict):
            return cls(
                check_name(str(raw["name"])),
                check_version(int(raw["version"])),
                str(raw.get("sha256", "")),
                int(raw.get("unpacked_bytes", 0)),
                str(raw.get("location", "")),
            )
        text = raw if isinstance(raw, str) else ""
        arn = _ARN.fullmatch(text)
        name, _, version = (arn.group("ref") if arn else text).rpartition(":")
        if not name or not version.isdigit() or not _NAME.fullmatch(name):
            raise InvalidInput(
                f"a layer is given as name:version (or a layer-version ARN), not {raw!r}",
                field="layers",
                code="invalid_layer",
            )
        return cls(name, check_version(int(version)))

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "unpacked_bytes": self.unpacked_bytes,
            "location": self.location,
        }


@dataclass(frozen=True)
class Layers:
    """A function's layers, in the order they are extracted into /opt (a later one's file
    wins)."""

    refs: tuple[LayerRef, ...] = ()

    @classmethod
    def of(cls, refs: Sequence[LayerRef]) -> Layers:
        if len(refs) > MAX_LAYERS:
            raise InvalidInput(
                f"a function has at most {MAX_LAYERS} layers, not {len(refs)}",
                field="layers",
                code="too_many_layers",
            )
        labels = [r.label for r in refs]
        twice = next((label for label in labels if labels.count(label) > 1), None)
        if twice is not None:
            why = f"layer {twice} is given twice"
            raise InvalidInput(why, field="layers", code="invalid_layer")
        return cls(tuple(refs))

    @classmethod
    def from_data(cls, data: object) -> Layers:
        if not isinstance(data, list | tuple):
            raise InvalidInput(
                "layers is a list of name:version", field="layers", code="invalid_layer"
            )
        return cls.of([LayerRef.parse(item) for item in data])

    def to_data(self) -> list[dict[str, Any]]:
        return [ref.to_data() for ref in self.refs]

    def identity(self) -> list[str]:
        """What previews, hashes and answers see: `name:version`, in order."""
        return [ref.label for ref in self.refs]

    def resolved_with(self, refs: Sequence[LayerRef]) -> Layers:
        return Layers(tuple(refs))

    def unpacked_bytes(self) -> int:
        return sum(ref.unpacked_bytes for ref in self.refs)

    def __iter__(self) -> Iterator[LayerRef]:
        return iter(self.refs)

    def __len__(self) -> int:
        return len(self.refs)

    def __bool__(self) -> bool:
        return bool(self.refs)


@dataclass(frozen=True)
class LayerVersion:
    """One published version, as the store keeps it (its content lives in the code store)."""

    name: str
    version: int
    sha256: str
    """The package's identity hash (its manifest's), as a function package's."""
    location: str
    zipped_bytes: int
    unpacked_bytes: int
    files: int
    description: str
    created: datetime
    state: LayerState = "active"

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    def ref(self) -> LayerRef:
        return LayerRef(self.name, self.version, self.sha256, self.unpacked_bytes, self.location)

    def with_state(self, state: LayerState) -> LayerVersion:
        return replace(self, state=state)


@dataclass(frozen=True)
class LayerUse:
    """A function's claim on a layer version, written before the function write that attaches
    it (`pending`) and marked `committed` after; a delete sees it (see engine/layer_service)."""

    name: str
    version: int
    key: str
    state: Literal["pending", "committed"]
    at: datetime
