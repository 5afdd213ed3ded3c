"""What applying a spec does on the local target, as a `Plan` (pure: no disk, no processes).

Resources of a function on the local target:
- `code`        the deployment's code file under `functions/<key>/spec-<hash>/`;
- `binary`      (runtimes whose driver builds) the build output, shared by digest;
- `worker`      the supervised process serving the deployment. Any change of the spec starts a
                new worker beside the old one and switches traffic once it is healthy, so a
                change is a `replace` (create-before-delete), never an in-place update.
"""

from __future__ import annotations

from engine.plan import ChangeOp, FieldChange, Plan, ResourceChange, diff_specs
from engine.spec import FunctionSpec
from runtimes.registry import driver

CODE_TYPE = "local:code"
BINARY_TYPE = "local:build"
WORKER_TYPE = "local:worker"


def plan(current: FunctionSpec | None, desired: FunctionSpec) -> Plan:
    fields = diff_specs(current, desired)
    return Plan(fields=fields, resources=resources(current, desired, fields))


def resources(
    current: FunctionSpec | None, desired: FunctionSpec, fields: tuple[FieldChange, ...]
) -> tuple[ResourceChange, ...]:
    def change(
        suffix: str, type_: str, relevant: tuple[FieldChange, ...], changed_op: ChangeOp
    ) -> ResourceChange:
        """`<key>-<suffix>`: created with the function, else `changed_op` if `relevant` changed."""
        return ResourceChange(
            name=f"{desired.key}-{suffix}",
            type=type_,
            op=_op(current, bool(relevant), changed_op),
            fields=relevant,
        )

    changes = [change("code", CODE_TYPE, _pick(fields, "code_sha256", "runtime"), "update")]
    if driver(desired.runtime).builds:
        binary = _pick(fields, "code_sha256", "runtime", "version", "handler")
        changes.append(change("binary", BINARY_TYPE, binary, "replace"))
    changes.append(change("worker", WORKER_TYPE, fields, "replace"))
    return tuple(changes)


def _op(current: FunctionSpec | None, changed: bool, changed_op: ChangeOp) -> ChangeOp:
    if current is None:
        return "create"
    return changed_op if changed else "same"


def _pick(fields: tuple[FieldChange, ...], *paths: str) -> tuple[FieldChange, ...]:
    return tuple(f for f in fields if f.path in paths or f.path.split(".")[0] in paths)
