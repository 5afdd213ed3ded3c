"""The intent journal: which operation a function stack is in the middle of.

Written (atomically, mode 0600: the spec may hold environment values) before `up` or `destroy`
starts, removed when it finished. What a crash leaves here is what `recover` finishes. The spec
is written in the spec codec's plain data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.files import write_private
from engine.spec import FunctionSpec

IntentOp = Literal["apply", "destroy"]


@dataclass(frozen=True)
class Intent:
    op: IntentOp
    spec: FunctionSpec | None = None


def write_intent(path: Path, intent: Intent) -> None:
    body = {"op": intent.op, "spec": intent.spec.to_data() if intent.spec else None}
    write_private(path, json.dumps(body))


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
        try:
            return Intent("apply", FunctionSpec.from_data(body["spec"]))
        except (KeyError, TypeError, ValueError):
            return None
    return None


def clear_intent(path: Path) -> None:
    path.unlink(missing_ok=True)
