"""`active.json`: which deployment of a function takes traffic, persisted so that a restarted
control plane knows what is deployed (and can cold start it) without the store.

The record is the spec in the spec codec's plain data, without its code (the code is the
deployment directory's file, checked against the recorded hashes on load), plus the code
file's name. Owner-only, written atomically (`engine.files.write_private`): it holds
environment values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.files import write_private
from engine.local.layout import deployment_name
from engine.spec import FunctionSpec

FORMAT_VERSION = 2


@dataclass(frozen=True)
class ActiveDeployment:
    spec: FunctionSpec
    code_file: str

    def to_json(self) -> str:
        record = {
            "format": FORMAT_VERSION,
            "spec": self.spec.to_data(with_code=False),
            "code_file": self.code_file,
        }
        return json.dumps(record, indent=2, sort_keys=True)


class CorruptActiveRecordError(ValueError):
    pass


def save(path: Path, active: ActiveDeployment) -> None:
    write_private(path, active.to_json())


def load(path: Path) -> ActiveDeployment | None:
    """The recorded deployment, or None when there is none (or it cannot be trusted)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CorruptActiveRecordError(f"{path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise CorruptActiveRecordError(f"{path}: unknown format")
    try:
        data, code_file = record["spec"], str(record["code_file"])
        code_dir = path.parent / deployment_name(str(data["spec_hash"]))
        code = (code_dir / code_file).read_text(encoding="utf-8")
        return ActiveDeployment(FunctionSpec.from_data(data, code), code_file)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise CorruptActiveRecordError(f"{path}: {exc}") from exc
