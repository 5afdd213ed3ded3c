"""`active.json`: which revision of a function takes traffic, persisted so that a restarted
control plane knows what is deployed (and can cold start it) without the database.

The record holds the spec without its code (the code is the revision directory's file, checked
against `code_sha256` on load) and the code file's name.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.local.layout import revision_name
from engine.spec import FunctionSpec, Limits

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ActiveRevision:
    spec: FunctionSpec
    code_file: str

    def to_json(self) -> str:
        values = asdict(self.spec)
        values.pop("code")
        values["env"] = [list(pair) for pair in self.spec.env]
        record = {
            "format": FORMAT_VERSION,
            "spec": values,
            "code_sha256": self.spec.code_sha256,
            "spec_hash": self.spec.spec_hash,
            "code_file": self.code_file,
        }
        return json.dumps(record, indent=2, sort_keys=True)


class CorruptActiveRecordError(ValueError):
    pass


def spec_from_record(record: dict[str, Any], code: str) -> FunctionSpec:
    values = dict(record["spec"])
    values["env"] = tuple((str(k), str(v)) for k, v in values.get("env", []))
    values["limits"] = Limits(**values.get("limits", {}))
    spec = FunctionSpec(code=code, **values)
    if spec.code_sha256 != record.get("code_sha256"):
        raise CorruptActiveRecordError(f"code of {spec.key} does not match its recorded sha256")
    return spec


def save(path: Path, active: ActiveRevision) -> None:
    """Atomic replace; owner-only (the spec carries environment values)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(active.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def load(path: Path) -> ActiveRevision | None:
    """The recorded revision, or None when there is none (or it cannot be trusted)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CorruptActiveRecordError(f"{path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise CorruptActiveRecordError(f"{path}: unknown format")
    code_file = str(record["code_file"])
    rev_dir = path.parent / revision_name(str(record["spec_hash"]))
    try:
        code = (rev_dir / code_file).read_text(encoding="utf-8")
        return ActiveRevision(spec_from_record(record, code), code_file)
    except (OSError, KeyError, TypeError) as exc:
        raise CorruptActiveRecordError(f"{path}: {exc}") from exc
