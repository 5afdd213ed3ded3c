"""OpenAPI fragments shared by the routers: the error responses each route can give."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse

DESCRIPTIONS = {
    404: "Unknown key or operation (`function_not_found`, `operation_not_found`).",
    409: "Conflict: `stale_revision`, `idempotency_key_reused` or `operation_in_progress`.",
    413: "`code_too_large` or `payload_too_large`.",
    422: "Rejected input: `invalid_request` (shape) or a rule's code (`invalid_name`, ...).",
    502: "An awaited operation failed in the target (`target_error`).",
    503: "`store_unavailable`: MongoDB (or S3) cannot be reached; retry later.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]} for status in statuses
    }
