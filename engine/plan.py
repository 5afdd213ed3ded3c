"""What a change would do, as data: the preview shown before an update is applied.

Two levels, like `pulumi preview`: the function's own fields (`FieldChange`) and the target's
resources (`ResourceChange`, one per Pulumi resource or local worker). Both are pure values so
the API and the console render them the same way whichever target produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.spec import FunctionSpec

ChangeOp = Literal["create", "update", "replace", "delete", "same"]
SECRET_MASK = "[secret]"  # noqa: S105 - the mask shown instead of a secret


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: object
    new: object


@dataclass(frozen=True)
class ResourceChange:
    name: str
    type: str
    op: ChangeOp
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The preview of a change: `changed` is False when applying it would do nothing."""

    fields: tuple[FieldChange, ...]
    resources: tuple[ResourceChange, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.fields) or any(r.op != "same" for r in self.resources)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in self.resources:
            counts[resource.op] = counts.get(resource.op, 0) + 1
        return counts


PER_NAME = {"env": True, "secrets": False}
"""Maps diffed name by name, and whether their values are masked (env values may be sensitive;
secrets are already only fingerprints)."""


def diff_specs(old: FunctionSpec | None, new: FunctionSpec) -> tuple[FieldChange, ...]:
    """Field-level differences; environment values are masked, secrets show fingerprints,
    code shows as its hash."""
    before = old.settings() if old else {}
    after = new.settings()
    changes: list[FieldChange] = []
    for path in sorted(set(before) | set(after)):
        if path in PER_NAME:
            changes.extend(_diff_map(path, before.get(path), after.get(path)))
        elif before.get(path) != after.get(path):
            changes.append(FieldChange(path, before.get(path), after.get(path)))
    return tuple(changes)


def _diff_map(path: str, old: object, new: object) -> list[FieldChange]:
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}

    def shown(values: dict[str, object], name: str) -> object:
        if name not in values:
            return None
        return SECRET_MASK if PER_NAME[path] else values[name]

    return [
        FieldChange(f"{path}.{name}", shown(old_map, name), shown(new_map, name))
        for name in sorted(set(old_map) | set(new_map))
        if old_map.get(name) != new_map.get(name)
    ]
