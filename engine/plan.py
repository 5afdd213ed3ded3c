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


def diff_specs(old: FunctionSpec | None, new: FunctionSpec) -> tuple[FieldChange, ...]:
    """Field-level differences; environment values are masked, code shows as its hash."""
    before = old.settings() if old else {}
    after = new.settings()
    changes: list[FieldChange] = []
    for path in sorted(set(before) | set(after)):
        if path == "env":
            changes.extend(_diff_env(before.get("env"), after.get("env")))
        elif before.get(path) != after.get(path):
            changes.append(FieldChange(path, before.get(path), after.get(path)))
    return tuple(changes)


def _diff_env(old: object, new: object) -> list[FieldChange]:
    old_env = old if isinstance(old, dict) else {}
    new_env = new if isinstance(new, dict) else {}
    return [
        FieldChange(
            f"env.{name}",
            SECRET_MASK if name in old_env else None,
            SECRET_MASK if name in new_env else None,
        )
        for name in sorted(set(old_env) | set(new_env))
        if old_env.get(name) != new_env.get(name)
    ]
