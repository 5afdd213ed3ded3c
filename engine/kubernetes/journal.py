"""The intent journal: which operation a function stack is in the middle of.

Written (atomically, mode 0600: the spec may hold environment values) before `up` or `destroy`
starts, removed when it finished. What a crash leaves here is what `recover` finishes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from engine.spec import FunctionSpec, Limits

IntentOp = Literal["apply", "destroy"]


@dataclass(frozen=True)
class Intent:
    op: IntentOp
    spec: FunctionSpec | None = None


def write_intent(path: Path, intent: Intent) -> None:
    body = {"op": intent.op, "spec": spec_to_json(intent.spec) if intent.spec else None}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out)
    partial.replace(path)


def read_intent(path: Path) -> Intent | None:
    """The journaled intent; None when there is none or it cannot be read."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    op = body.get("op") if isinstance(body, dict) else None
    if op == "destroy":
        return Intent("destroy")
    if op == "apply" and isinstance(body.get("spec"), dict):
        return Intent("apply", spec_from_json(body["spec"]))
    return None


def clear_intent(path: Path) -> None:
    path.unlink(missing_ok=True)


def spec_to_json(spec: FunctionSpec) -> dict[str, Any]:
    return asdict(spec)


def spec_from_json(body: dict[str, Any]) -> FunctionSpec:
    fields = dict(body)
    fields["env"] = tuple((str(k), str(v)) for k, v in fields.get("env", ()))
    fields["limits"] = Limits(**fields.get("limits", {}))
    return FunctionSpec(**fields)
