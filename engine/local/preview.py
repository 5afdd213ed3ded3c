"""What applying a spec does on the local target, as a `Plan` (pure: no disk, no processes).

Resources of a function on the local target:
- `code`        the revision's code file under `functions/<key>/rev-<hash>/`;
- `binary`      (golang only) the compiled wrapper + handler, shared by code digest;
- `worker`      the supervised process serving the revision. Any change of the spec starts a
                new worker beside the old one and switches traffic once it is healthy, so a
                change is a `replace` (create-before-delete), never an in-place update.
"""

from __future__ import annotations

from engine.plan import ChangeOp, FieldChange, Plan, ResourceChange, diff_specs
from engine.spec import FunctionSpec

CODE_TYPE = "local:code"
BINARY_TYPE = "local:go-binary"
WORKER_TYPE = "local:worker"


def plan(current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
    fields = diff_specs(current, desired)
    return Plan(fields=fields, resources=resources(current, desired, fields))


def resources(
    current: FunctionSpec | None, desired: FunctionSpec, fields: tuple[FieldChange, ...]
) -> tuple[ResourceChange, ...]:
    changes = [_code(current, desired, fields)]
    if desired.runtime == "golang":
        changes.append(_binary(current, desired, fields))
    changes.append(_worker(current, desired, fields))
    return tuple(changes)


def _op(current: FunctionSpec | None, changed: bool, changed_op: ChangeOp) -> ChangeOp:
    if current is None:
        return "create"
    return changed_op if changed else "same"


def _pick(fields: tuple[FieldChange, ...], *paths: str) -> tuple[FieldChange, ...]:
    return tuple(f for f in fields if f.path in paths or f.path.split(".")[0] in paths)


def _code(
    current: FunctionSpec | None, desired: FunctionSpec, fields: tuple[FieldChange, ...]
) -> ResourceChange:
    relevant = _pick(fields, "code_sha256", "runtime")
    return ResourceChange(
        name=f"{desired.key}-code",
        type=CODE_TYPE,
        op=_op(current, bool(relevant), "update"),
        fields=relevant,
    )


def _binary(
    current: FunctionSpec | None, desired: FunctionSpec, fields: tuple[FieldChange, ...]
) -> ResourceChange:
    relevant = _pick(fields, "code_sha256", "runtime", "version", "handler")
    return ResourceChange(
        name=f"{desired.key}-binary",
        type=BINARY_TYPE,
        op=_op(current, bool(relevant), "replace"),
        fields=relevant,
    )


def _worker(
    current: FunctionSpec | None, desired: FunctionSpec, fields: tuple[FieldChange, ...]
) -> ResourceChange:
    return ResourceChange(
        name=f"{desired.key}-worker",
        type=WORKER_TYPE,
        op=_op(current, bool(fields), "replace"),
        fields=fields,
    )
