"""Pure translation of Pulumi engine events: into a `Plan` (preview) and into progress lines.

A preview's `ResourcePreEvent`s carry, per resource, the step's op, its URN and type, the
property paths that differ (`detailed_diff`) and the old and new inputs; values are looked up
at those paths and masked where they may hold secrets (environment values, the code itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pulumi.automation import EngineEvent, OpType, StepEventMetadata

from engine.plan import SECRET_MASK, ChangeOp, FieldChange, ResourceChange
from engine.spec import sha256_text

UNKNOWN = "(known after apply)"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - Pulumi's wire marker
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - ditto
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SKIPPED_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")
MAX_LINE = 200
NOISE = ("using pulumi-resource-",)
"""Diagnostics not worth a progress line (plugins found on PATH, which is how we install them)."""

_OPS: dict[OpType, ChangeOp] = {
    OpType.SAME: "same",
    OpType.READ: "same",
    OpType.REFRESH: "same",
    OpType.CREATE: "create",
    OpType.IMPORT: "create",
    OpType.UPDATE: "update",
    OpType.REPLACE: "replace",
    OpType.CREATE_REPLACEMENT: "replace",
    OpType.DELETE_REPLACED: "replace",
    OpType.IMPORT_REPLACEMENT: "replace",
    OpType.DELETE: "delete",
    OpType.DISCARD: "delete",
}
_OP_NAMES = {op.value for op in OpType}
_RANK: dict[ChangeOp, int] = {"same": 0, "create": 1, "delete": 1, "update": 2, "replace": 3}
_PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.\[\]]+)')
_ENV_VALUE = re.compile(r"(^|\.)env\[\d+\]\.value$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|<\{%[a-z]+%\}>")


# --- preview → Plan -----------------------------------------------------------------------
def resource_changes(events: Iterable[EngineEvent]) -> tuple[ResourceChange, ...]:
    """One change per resource (a replacement's several steps count once), in event order."""
    changes: dict[str, ResourceChange] = {}
    for event in events:
        pre = event.resource_pre_event
        change = change_of(pre.metadata) if pre else None
        if change is None or pre is None:
            continue
        urn = pre.metadata.urn
        kept = changes.get(urn)
        if kept is None or _RANK[change.op] > _RANK[kept.op]:
            changes[urn] = change
    return tuple(changes.values())


def change_of(meta: StepEventMetadata) -> ResourceChange | None:
    op = _OPS.get(meta.op)
    if op is None or meta.type.startswith(SKIPPED_TYPES):
        return None
    fields = field_changes(meta) if op in ("update", "replace") else ()
    return ResourceChange(name=urn_name(meta.urn), type=meta.type, op=op, fields=fields)


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def field_changes(meta: StepEventMetadata) -> tuple[FieldChange, ...]:
    old = dict(meta.old.inputs or {}) if meta.old else {}
    new = dict(meta.new.inputs or {}) if meta.new else {}
    paths = sorted(meta.detailed_diff or {}) or sorted(meta.diffs or [])
    return tuple(
        FieldChange(
            path,
            render(lookup(old, path), path, meta.type),
            render(lookup(new, path), path, meta.type),
        )
        for path in paths
    )


def parse_path(path: str) -> list[str | int]:
    """`spec.template.metadata.annotations["a/b"]` → ["spec", ..., "a/b"]; `x[0]` → ["x", 0]."""
    parts: list[str | int] = []
    for quoted, index, plain in _PATH_TOKEN.findall(path):
        if index:
            parts.append(int(index))
        else:
            parts.append(quoted.replace('\\"', '"') if quoted else plain)
    return parts


def lookup(values: object, path: str) -> object:
    current = values
    for part in parse_path(path):
        if isinstance(part, int) and isinstance(current, list) and part < len(current):
            current = current[part]
        elif isinstance(part, str) and isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def render(value: object, path: str, type_: str) -> object:
    """A value as a preview may show it: secrets masked, the code replaced by its digest."""
    if isinstance(value, Mapping) and not is_secret(value):
        return {k: render(v, f"{path}.{k}" if path else str(k), type_) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, f"{path}[{i}]", type_) for i, v in enumerate(value)]
    return _render_leaf(value, path, type_)


def _render_leaf(value: object, path: str, type_: str) -> object:
    if is_secret(value) or (_ENV_VALUE.search(path) and value is not None):
        return SECRET_MASK
    if value == UNKNOWN_VALUE:
        return UNKNOWN
    if isinstance(value, str) and _is_code(path, type_):
        return f"sha256:{sha256_text(value)[:12]} ({len(value.encode())} bytes)"
    return value


def is_secret(value: object) -> bool:
    if value == SECRET_MASK:
        return True
    return isinstance(value, Mapping) and value.get(SECRET_SIG) == SECRET_SIG_VALUE


def _is_code(path: str, type_: str) -> bool:
    head = parse_path(path)[:1]
    if type_.endswith(":ConfigMap"):
        return head == ["data"]
    return type_.startswith("aws:s3/") and head == ["content"]


# --- events → progress lines --------------------------------------------------------------
_DOING = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting"}
_DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}


def progress_line(event: EngineEvent) -> str | None:
    """A short human line for the events worth showing, None for the rest."""
    if event.resource_pre_event:
        return _step_line(event.resource_pre_event.metadata, _DOING)
    if event.res_outputs_event:
        return _step_line(event.res_outputs_event.metadata, _DONE)
    if event.res_op_failed_event:
        meta = event.res_op_failed_event.metadata
        return _clip(f"failed to {meta.op.value} {_describe(meta)}")
    if event.diagnostic_event:
        return _diagnostic_line(event)
    if event.summary_event:
        return _summary_line(
            event.summary_event.resource_changes, event.summary_event.duration_seconds
        )
    return None


def _step_line(meta: StepEventMetadata, verbs: Mapping[str, str]) -> str | None:
    op = _OPS.get(meta.op)
    if op is None or op == "same" or meta.type.startswith(SKIPPED_TYPES):
        return None
    return f"{verbs[op]} {_describe(meta)}"


def _describe(meta: StepEventMetadata) -> str:
    return f"{meta.type.rsplit(':', 1)[-1]} {urn_name(meta.urn)}"


def _diagnostic_line(event: EngineEvent) -> str | None:
    diag = event.diagnostic_event
    if diag is None or diag.severity == "debug":
        return None
    message = _ANSI.sub("", diag.message).strip()
    if not message:
        return None
    first = message.splitlines()[0]
    if first.startswith(NOISE):
        return None
    if diag.severity == "info":
        return _clip(f"{urn_name(diag.urn)}: {first}") if diag.urn else None
    return _clip(f"{diag.severity}: {first}")


def _summary_line(changes: Mapping[OpType, int], seconds: int) -> str:
    """`resource_changes` maps op names ("create", "same", ...) to counts."""
    counted: dict[str, int] = {}
    for name, count in changes.items():
        op = _OPS.get(OpType(name)) if name in _OP_NAMES else None
        if op and op != "same" and count:
            counted[_DONE[op]] = counted.get(_DONE[op], 0) + count
    parts = [f"{count} {verb}" for verb, count in sorted(counted.items())]
    return f"done in {seconds}s: {', '.join(parts) or 'no changes'}"


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
