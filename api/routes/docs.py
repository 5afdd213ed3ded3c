"""OpenAPI fragments shared by the routers: the error responses each route can give."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse

DESCRIPTIONS = {
    403: "A browser sent the change for another site (`cross_site_request`), or the Host is "
    "not in `allowed_hosts` (`host_not_allowed`).",
    404: "Unknown key or operation (`function_not_found`, `operation_not_found`).",
    409: "Conflict: `stale_revision`, `idempotency_key_reused`, `function_deleting` or "
    "(awaited) `operation_cancelled`.",
    413: "`code_too_large` or `payload_too_large`.",
    415: "`unsupported_media_type`: JSON without `Content-Type: application/json`, or a body "
    "neither JSON nor multipart.",
    422: "Rejected input: `invalid_request` (shape) or a rule's code (`invalid_name`, ...).",
    502: "An awaited operation failed in the target (`target_error`).",
    503: "`store_unavailable`: MongoDB (or S3) cannot be reached; retry later.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]} for status in statuses
    }
