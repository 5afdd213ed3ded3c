"""Conversions between the engine's records and MongoDB documents (both directions).

Kept in one place so the document shapes (the contract with operators reading the database,
and with older versions of the control plane) are visible at a glance; a function's settings
come from the spec codec (`engine.spec`), so a new setting needs no edit here.
"""

from __future__ import annotations

from typing import Any

from engine.access import TokenRecord
from engine.audit import AuditEntry
from engine.catalog import CatalogRecord, DefaultChoice, RuntimeEntry
from engine.records import (
    CodeRef,
    Condition,
    ErrorInfo,
    FunctionRecord,
    FunctionStatus,
    Operation,
    ProgressLine,
    Revision,
    SpecRef,
)
from engine.spec import FunctionConfig
from runtimes.registry import RuntimeName

Doc = dict[str, Any]


def spec_doc(spec: SpecRef) -> Doc:
    """A function's or revision's settings, flat in its document (the original's `name`,
    `runtime`, `version` at the top), through the spec codec."""
    return {
        **spec.config.to_data(),
        "image": spec.image,
        "run_command": spec.run_command,
        "code": {
            "sha256": spec.code.sha256,
            "size": spec.code.size,
            "location": spec.code.location,
        },
        "spec_hash": spec.spec_hash,
    }


def spec_of(doc: Doc) -> SpecRef:
    code = doc["code"]
    return SpecRef(
        config=FunctionConfig.from_data(doc),
        image=doc["image"],
        run_command=doc.get("run_command", ""),
        code=CodeRef(code["sha256"], int(code["size"]), code["location"]),
        spec_hash=doc["spec_hash"],
    )


def error_doc(error: ErrorInfo | None) -> Doc | None:
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "detail": error.detail}


def error_of(doc: Doc | None) -> ErrorInfo | None:
    if not doc:
        return None
    return ErrorInfo(doc["code"], doc["message"], dict(doc.get("detail") or {}))


def status_doc(status: FunctionStatus) -> Doc:
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


def status_of(doc: Doc) -> FunctionStatus:
    return FunctionStatus(
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
        **spec_doc(record.spec),
        "revision": record.revision,
        "disabled": record.disabled,
        "reg_date": record.reg_date,
        "update_date": record.update_date,
        "status": status_doc(record.status),
    }


def function_of(doc: Doc) -> FunctionRecord:
    return FunctionRecord(
        key=doc["_id"],
        spec=spec_of(doc),
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
        **spec_doc(revision.spec),
        "created": revision.created,
    }


def revision_of(doc: Doc) -> Revision:
    return Revision(doc["key"], doc["revision"], spec_of(doc), doc["created"])


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


def runtime_doc(entry: RuntimeEntry) -> Doc:
    """The fields a seed refreshes; `disabled` and the dates are managed separately."""
    return {
        "runtime": entry.runtime,
        "version": entry.version,
        "image": entry.image,
        "default_code": entry.default_code,
        "default_handler": entry.default_handler,
        "run_command": entry.run_command,
    }


def catalog_record_of(doc: Doc) -> CatalogRecord:
    entry = RuntimeEntry(
        runtime=RuntimeName(doc["runtime"]),
        version=doc["version"],
        image=doc["image"],
        default_code=doc["default_code"],
        default_handler=doc["default_handler"],
        run_command=doc["run_command"],
        disabled=bool(doc.get("disabled", False)),
    )
    return CatalogRecord(entry, doc["reg_date"], doc["update_date"])


def default_of(doc: Doc) -> DefaultChoice:
    return DefaultChoice(
        runtime=RuntimeName(doc["runtime"]),
        version=doc["version"],
        disabled=bool(doc.get("disabled", False)),
        reg_date=doc["reg_date"],
        update_date=doc["update_date"],
    )


def token_doc(token: TokenRecord) -> Doc:
    return {
        "_id": token.id,
        "name": token.name,
        "role": token.role,
        "secret_hash": token.secret_hash,
        "functions": list(token.functions),
        "created": token.created,
        "expires": token.expires,
        "last_used": token.last_used,
        "revoked": token.revoked,
    }


def token_of(doc: Doc) -> TokenRecord:
    return TokenRecord(
        id=doc["_id"],
        name=doc["name"],
        role=doc["role"],
        secret_hash=doc["secret_hash"],
        created=doc["created"],
        functions=tuple(doc.get("functions") or ()),
        expires=doc.get("expires"),
        last_used=doc.get("last_used"),
        revoked=doc.get("revoked"),
    )


def audit_doc(entry: AuditEntry) -> Doc:
    return {
        "at": entry.at,
        "action": entry.action,
        "token_id": entry.token_id,
        "token_name": entry.token_name,
        "role": entry.role,
        "result": entry.result,
        "status": entry.status,
        "key": entry.key,
        "request_id": entry.request_id,
        "detail": entry.detail,
    }


def audit_of(doc: Doc) -> AuditEntry:
    return AuditEntry(
        at=doc["at"],
        action=doc["action"],
        token_id=doc["token_id"],
        token_name=doc["token_name"],
        role=doc["role"],
        result=doc["result"],
        status=int(doc["status"]),
        key=doc.get("key"),
        request_id=doc.get("request_id", ""),
        detail=dict(doc.get("detail") or {}),
    )
