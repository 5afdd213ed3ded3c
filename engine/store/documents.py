"""Conversions between the engine's records and MongoDB documents (both directions).

Kept in one place so the document shapes (the contract with operators reading the database,
and with older versions of the control plane) are visible at a glance.
"""

from __future__ import annotations

from typing import Any, cast

from engine.records import (
    CatalogEntry,
    CodeRef,
    Condition,
    DefaultChoice,
    ErrorInfo,
    FunctionConfig,
    FunctionRecord,
    Operation,
    ProgressLine,
    Revision,
    Status,
)
from engine.spec import Limits, RuntimeName, RuntimeSpec

Doc = dict[str, Any]


def config_doc(config: FunctionConfig) -> Doc:
    return {
        "name": config.name,
        "runtime": config.runtime,
        "version": config.version,
        "handler": config.handler,
        "image": config.image,
        "env": dict(config.env),
        "limits": {
            "memory_mb": config.limits.memory_mb,
            "timeout_ms": config.limits.timeout_ms,
            "concurrency": config.limits.concurrency,
        },
        "code": {
            "sha256": config.code.sha256,
            "size": config.code.size,
            "location": config.code.location,
        },
        "spec_hash": config.spec_hash,
    }


def config_of(doc: Doc) -> FunctionConfig:
    code = doc["code"]
    return FunctionConfig(
        name=doc["name"],
        runtime=cast(RuntimeName, doc["runtime"]),
        version=doc["version"],
        handler=doc["handler"],
        image=doc["image"],
        code=CodeRef(code["sha256"], int(code["size"]), code["location"]),
        spec_hash=doc["spec_hash"],
        env=tuple(sorted(doc.get("env", {}).items())),
        limits=Limits(**doc.get("limits", {})),
    )


def error_doc(error: ErrorInfo | None) -> Doc | None:
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "detail": error.detail}


def error_of(doc: Doc | None) -> ErrorInfo | None:
    if not doc:
        return None
    return ErrorInfo(doc["code"], doc["message"], dict(doc.get("detail") or {}))


def status_doc(status: Status) -> Doc:
    return {
        "generation": status.generation,
        "observed_generation": status.observed_generation,
        "phase": status.phase,
        "last_error": error_doc(status.last_error),
        "conditions": [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "last_transition": c.last_transition,
            }
            for c in status.conditions
        ],
        "operation_id": status.operation_id,
    }


def status_of(doc: Doc) -> Status:
    return Status(
        generation=doc["generation"],
        observed_generation=doc["observed_generation"],
        phase=doc["phase"],
        last_error=error_of(doc.get("last_error")),
        conditions=tuple(
            Condition(c["type"], c["status"], c["reason"], c["message"], c["last_transition"])
            for c in doc.get("conditions", [])
        ),
        operation_id=doc.get("operation_id"),
    )


def function_doc(record: FunctionRecord) -> Doc:
    return {
        "_id": record.key,
        **config_doc(record.config),
        "revision": record.revision,
        "disabled": record.disabled,
        "reg_date": record.reg_date,
        "update_date": record.update_date,
        "status": status_doc(record.status),
    }


def function_of(doc: Doc) -> FunctionRecord:
    return FunctionRecord(
        key=doc["_id"],
        config=config_of(doc),
        revision=doc["revision"],
        reg_date=doc["reg_date"],
        update_date=doc["update_date"],
        status=status_of(doc["status"]),
        disabled=bool(doc.get("disabled", False)),
    )


def revision_id(key: str, revision: int) -> str:
    return f"{key}:{revision}"


def revision_doc(revision: Revision) -> Doc:
    return {
        "_id": revision_id(revision.key, revision.revision),
        "key": revision.key,
        "revision": revision.revision,
        **config_doc(revision.config),
        "created": revision.created,
    }


def revision_of(doc: Doc) -> Revision:
    return Revision(doc["key"], doc["revision"], config_of(doc), doc["created"])


def operation_doc(op: Operation) -> Doc:
    return {
        "_id": op.id,
        "key": op.key,
        "kind": op.kind,
        "state": op.state,
        "revision": op.revision,
        "generation": op.generation,
        "created": op.created,
        "started": op.started,
        "finished": op.finished,
        "attempts": op.attempts,
        "error": error_doc(op.error),
        "progress": [{"at": p.at, "message": p.message} for p in op.progress],
    }


def operation_of(doc: Doc) -> Operation:
    return Operation(
        id=doc["_id"],
        key=doc["key"],
        kind=doc["kind"],
        revision=doc["revision"],
        generation=doc["generation"],
        created=doc["created"],
        state=doc["state"],
        started=doc.get("started"),
        finished=doc.get("finished"),
        attempts=doc.get("attempts", 0),
        error=error_of(doc.get("error")),
        progress=tuple(ProgressLine(p["at"], p["message"]) for p in doc.get("progress", [])),
    )


def runtime_doc(spec: RuntimeSpec) -> Doc:
    """The fields a seed refreshes; `disabled` and the dates are managed separately."""
    return {
        "runtime": spec.runtime,
        "version": spec.version,
        "image": spec.image,
        "default_code": spec.default_code,
        "default_handler": spec.default_handler,
        "run_command": spec.run_command,
    }


def catalog_entry_of(doc: Doc) -> CatalogEntry:
    spec = RuntimeSpec(
        runtime=cast(RuntimeName, doc["runtime"]),
        version=doc["version"],
        image=doc["image"],
        default_code=doc["default_code"],
        default_handler=doc["default_handler"],
        run_command=doc["run_command"],
        disabled=bool(doc.get("disabled", False)),
    )
    return CatalogEntry(spec, doc["reg_date"], doc["update_date"])


def default_of(doc: Doc) -> DefaultChoice:
    return DefaultChoice(
        runtime=cast(RuntimeName, doc["runtime"]),
        version=doc["version"],
        disabled=bool(doc.get("disabled", False)),
        reg_date=doc["reg_date"],
        update_date=doc["update_date"],
    )
