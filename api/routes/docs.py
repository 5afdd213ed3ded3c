"""OpenAPI fragments shared by the routers: the error responses each route can give."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse

DESCRIPTIONS = {
    401: "`unauthenticated`: no API token (`Authorization: Bearer …`) or console session, or "
    "one that is unknown, revoked or expired (`WWW-Authenticate: Bearer`).",
    403: "`forbidden`: the token's role may not do this (`detail.action`, `detail.role`); or a "
    "browser sent the request for another site (`cross_site_request`), or the Host is not in "
    "`allowed_hosts` (`host_not_allowed`).",
    409: "Conflict: `stale_revision`, `idempotency_key_reused`, `function_deleting` or "
    "(awaited) `operation_cancelled`.",
    404: "Unknown key, operation or token (`function_not_found`, `operation_not_found`, "
    "`token_not_found`).",
    413: "`code_too_large` or `payload_too_large`.",
    429: "`too_many_requests`: too many failed sign-ins from this address (`Retry-After`).",
    415: "`unsupported_media_type`: JSON without `Content-Type: application/json`, or a body "
    "neither JSON nor multipart.",
    422: "Rejected input: `invalid_request` (shape) or a rule's code (`invalid_name`, ...).",
    502: "An awaited operation failed in the target (`target_error`).",
    503: "`store_unavailable`: MongoDB (or S3) cannot be reached; retry later.",
}


AUTH_STATUSES = (401, 403, 429)
"""Every /lambda route needs a credential, so every one can answer these."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]}
        for status in sorted({*statuses, *AUTH_STATUSES})
    }
