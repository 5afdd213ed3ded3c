"""A function's desired state as frozen values, and the one codec between them and plain data.

`FunctionConfig` is the one declaration of a function's settings; it is embedded in the
`FunctionSpec` a target provisions and (by way of `SpecRef`) in every stored function and
revision. Plain data — what MongoDB documents, the local target's `active.json` and the
Kubernetes journal hold, and what previews diff — comes from `to_data`/`from_data`, which walk
the dataclass fields, so a new setting is a new field here and nowhere else in the engine.
A field's name in the data may differ from its attribute (`runtime_version` is stored as
`version`, the original system's name): see `DATA_NAME`.

The spec hash decides whether an update has anything to do (an unchanged hash never runs `up`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar, get_type_hints

from engine import package
from engine.layers import Layers
from engine.spec_values import DEFAULT_CONCURRENCY, Env, Limits, Routes, SealedValue, Secrets
from runtimes.contract import EVENT_FORMATS
from runtimes.registry import RuntimeName

__all__ = [
    "DATA_NAME",
    "DEFAULT_CONCURRENCY",
    "Data",
    "Env",
    "FunctionConfig",
    "FunctionSpec",
    "Limits",
    "Routes",
    "SealedValue",
    "Secrets",
    "flatten",
    "from_data",
    "merge_flat",
    "sha256_text",
    "to_data",
]

DATA_NAME = "data_name"
"""Field metadata: the field's key in plain data, when it is not the attribute's name."""

Data = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class FunctionConfig:
    """The settings of a function: everything about it but its key, its code and the catalog's
    image, which together with these make a `FunctionSpec`."""

    name: str
    runtime: RuntimeName
    runtime_version: str = field(metadata={DATA_NAME: "version"})
    handler: str
    env: Env = field(default_factory=Env)
    limits: Limits = field(default_factory=Limits)
    title: str = ""
    """Free text shown for the function (the original system's `title`); `name` is the DNS
    label."""
    convention: str = "auto"
    """How the handler is called: `auto` (detected), or one of the runtime's conventions."""
    auth: str = "none"
    """Who may invoke it: `none` (anyone, as a public Function URL) or `token`."""
    secrets: Secrets = field(default_factory=Secrets)
    """Write-only environment variables: given in plain text, kept sealed."""
    layers: Layers = field(default_factory=Layers)
    """Layer versions extracted, in order, into /opt (`engine.layers`); previews and hashes
    see `name:version`, the store also each one's content reference."""
    event_format: str = EVENT_FORMATS[0]
    """The Lambda convention's event: `2.0` (HTTP API / Function URL) or `1.0` (REST API)."""
    routes: Routes = field(default_factory=Routes)
    """Route templates giving `routeKey`/`resource` and `pathParameters`; none: `$default`."""

    def to_data(self) -> Data:
        return to_data(self)

    def identity_data(self) -> Data:
        """The data with sealed values replaced by what identifies them (fingerprints)."""
        return to_data(self, identity=True)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FunctionConfig:
        return from_data(cls, data)

    def merged(self, changes: Mapping[str, Any]) -> FunctionConfig:
        """These settings with `changes` applied: keys are data names, nested settings given
        flat (`memory_mb`, not `limits.memory_mb`), as API clients send them."""
        return from_data(type(self), merge_flat(self.to_data(), changes))

    @classmethod
    def flat_names(cls) -> frozenset[str]:
        """Every name `merged` accepts."""
        return frozenset(flatten(cls._defaults_shape()))

    @classmethod
    def _defaults_shape(cls) -> Data:
        return to_data(cls("", RuntimeName(""), "", ""))


@dataclass(frozen=True)
class FunctionSpec:
    """Desired state of one function revision: exactly what targets provision."""

    key: str
    config: FunctionConfig
    code: str
    image: str
    """The runtime's container image, from the catalog entry (the Kubernetes target runs it)."""
    run_command: str = ""
    """How that image starts the wrapper, from the catalog entry ("" = the image's own)."""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def runtime(self) -> RuntimeName:
        return self.config.runtime

    @property
    def runtime_version(self) -> str:
        return self.config.runtime_version

    @property
    def handler(self) -> str:
        return self.config.handler

    @property
    def env(self) -> Env:
        return self.config.env

    @property
    def limits(self) -> Limits:
        return self.config.limits

    @property
    def is_package(self) -> bool:
        """The code is a zip package (`engine.package`), not a single source file."""
        return package.is_package(self.code)

    @cached_property
    def code_sha256(self) -> str:
        """A package's hash is its manifest's: the same files are the same code."""
        return sha256_text(package.identity(self.code) if self.is_package else self.code)

    def settings(self) -> Data:
        """Everything but the code, which enters by its hash (and a package's files by theirs,
        one `files/<path>` entry each, so a preview lists the files that change): what
        previews diff and the spec hash covers."""
        files = package.manifest(self.code) if self.is_package else ()
        return {
            "key": self.key,
            **self.config.identity_data(),
            "image": self.image,
            "run_command": self.run_command,
            "code_sha256": self.code_sha256,
            **{f"files/{f.path}": f.link or f.sha256 for f in files},
        }

    @cached_property
    def spec_hash(self) -> str:
        """Settings left at their default are not hashed: a release that adds a setting
        changes no existing function's hash (no pod rolls, no deployment is left behind)."""
        defaults = flatten(FunctionConfig._defaults_shape())
        hashed = {
            name: value
            for name, value in flatten(self.settings()).items()
            if name not in defaults or value != defaults[name]
        }
        return sha256_text(json.dumps(hashed, sort_keys=True))

    def to_data(self, *, with_code: bool = True) -> Data:
        data = {**self.settings(), **self.config.to_data(), "spec_hash": self.spec_hash}
        if with_code:
            data["code"] = self.code
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any], code: str | None = None) -> FunctionSpec:
        """The spec `to_data` wrote; `code` when it was written without it. A record whose
        code or settings do not match its hashes is refused (`ValueError`)."""
        text = data["code"] if code is None else code
        spec = cls(
            key=str(data["key"]),
            config=FunctionConfig.from_data(data),
            code=str(text),
            image=str(data["image"]),
            run_command=str(data.get("run_command", "")),
        )
        for name in ("code_sha256", "spec_hash"):
            if name in data and data[name] != getattr(spec, name):
                raise ValueError(f"the recorded {name} of {spec.key} does not match its content")
        return spec


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the codec ------------------------------------------------------------------------------
def to_data(value: object, *, identity: bool = False) -> Data:
    """A frozen settings value as plain data (dicts, lists, str, int, bool); with `identity`,
    values that have one (sealed secrets) give their identity instead of their content."""
    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    return {
        f.metadata.get(DATA_NAME, f.name): _plain(getattr(value, f.name), identity)
        for f in dataclasses.fields(value)
    }


def _plain(value: object, identity: bool) -> Any:
    ident = getattr(value, "identity", None)
    if identity and callable(ident):
        return ident()
    to = getattr(value, "to_data", None)
    if callable(to):
        return to()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_data(value, identity=identity)
    return value


def from_data(cls: type[T], data: Mapping[str, Any]) -> T:
    """The value `to_data` gave `data` for; absent fields take their defaults."""
    hints = get_type_hints(cls)
    values: Data = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = f.metadata.get(DATA_NAME, f.name)
        if name in data:
            values[f.name] = _typed(hints[f.name], data[name])
    return cls(**values)


def _typed(kind: Any, raw: Any) -> Any:
    decode = getattr(kind, "from_data", None)
    if callable(decode):
        return decode(raw)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind) and isinstance(raw, Mapping):
        return from_data(kind, raw)
    return raw


def flatten(data: Mapping[str, Any]) -> Data:
    """Nested settings (`limits`) lifted to the top level: the API's flat shape. Maps that are
    values themselves (`env`) stay whole."""
    flat: Data = {}
    for name, value in data.items():
        if isinstance(value, dict) and name in _NESTED:
            flat.update(value)
        else:
            flat[name] = value
    return flat


def merge_flat(data: Mapping[str, Any], changes: Mapping[str, Any]) -> Data:
    merged = {name: dict(v) if name in _NESTED else v for name, v in data.items()}
    for name, value in changes.items():
        group = next((g for g in _NESTED if name in merged.get(g, {})), None)
        if group is not None:
            merged[group][name] = value
        else:
            merged[name] = value
    return merged


def _groups(cls: type[object]) -> frozenset[str]:
    """The settings groups (nested dataclasses without a codec of their own, like `limits`)
    that the API shows flat; their members' names are unique among all settings."""
    hints = get_type_hints(cls)
    return frozenset(
        f.metadata.get(DATA_NAME, f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if dataclasses.is_dataclass(hints[f.name]) and not hasattr(hints[f.name], "to_data")
    )


_NESTED = _groups(FunctionConfig)
