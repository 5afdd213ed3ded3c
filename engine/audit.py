"""The audit log: who did what, when, to which function, and how it ended — one entry per
mutation and per token change, readable by admins. Entries name tokens and secrets by name,
never by value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    """The route's action, e.g. `function.create`, `token.revoke`."""
    token_id: str
    token_name: str
    role: str
    result: str
    """`ok`, or the stable error code the request was refused or failed with."""
    status: int
    key: str | None = None
    """The function acted on (or the token, for token changes)."""
    request_id: str = ""
    detail: dict[str, object] = field(default_factory=dict)
