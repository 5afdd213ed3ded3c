"""Who may do what: API tokens, their roles, and the one table of what each role may do.

A token is 256 random bits shown once (`lct_` + base64url, so secret scanners recognise it);
the store keeps only its SHA-256. High-entropy secrets need no slow hash: a leaked hash cannot
be inverted, and looking one up reveals nothing about other tokens. Everything here is pure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, get_args

from engine.errors import InvalidInput
from engine.keys import is_key

Role = Literal["admin", "developer", "viewer", "invoker"]
Action = Literal[
    "functions:read",
    "functions:write",
    "functions:invoke",
    "functions:logs",
    "catalog:read",
    "catalog:write",
    "tokens:manage",
    "audit:read",
    "self:read",
]
ROLES: tuple[Role, ...] = get_args(Role)
ACTIONS: tuple[Action, ...] = get_args(Action)

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    "admin": frozenset(ACTIONS),
    "developer": frozenset(
        {
            "functions:read",
            "functions:write",
            "functions:invoke",
            "functions:logs",
            "catalog:read",
            "self:read",
        }
    ),
    "viewer": frozenset({"functions:read", "functions:logs", "catalog:read", "self:read"}),
    "invoker": frozenset({"functions:invoke", "self:read"}),
}
"""The whole authorization policy (docs/auth.md shows it as a table)."""

BOUNDABLE: frozenset[Role] = frozenset({"invoker"})
"""Roles whose tokens may be limited to named functions."""

NAME_MAX = 64
"""A token's name: at most this many printable characters."""
TOKEN_PREFIX = "lct_"  # noqa: S105 - a prefix, not a secret
TOKEN_BYTES = 32
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43  # 32 bytes, base64url without padding


@dataclass(frozen=True)
class TokenRecord:
    """A token as the store keeps it: never the secret, only its hash."""

    id: str
    name: str
    role: Role
    secret_hash: str
    created: datetime
    functions: tuple[str, ...] = ()
    """Function keys the token is limited to (invoker tokens only); empty: every function."""
    expires: datetime | None = None
    last_used: datetime | None = None
    revoked: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)

    def revoke(self, now: datetime) -> TokenRecord:
        return self if self.revoked else replace(self, revoked=now)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, once its credential checked out."""

    token_id: str
    name: str
    role: Role
    functions: tuple[str, ...] = ()

    @classmethod
    def of(cls, token: TokenRecord) -> Principal:
        return cls(token.id, token.name, token.role, token.functions)

    def may(self, action: Action, key: str | None = None) -> bool:
        """The role allows `action`, and a token bound to functions only acts on those."""
        if action not in ROLE_ACTIONS[self.role]:
            return False
        return not self.functions or key is None or key in self.functions


ANONYMOUS = Principal("", "anonymous", "invoker")
"""Who invokes a public function without a token (audit and logs name it)."""


def new_secret() -> str:
    raw = secrets.token_bytes(TOKEN_BYTES)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_secret(value: str) -> bool:
    """The shape of a token (a cheap refusal before any lookup)."""
    return len(value) == TOKEN_LENGTH and value.startswith(TOKEN_PREFIX) and value.isascii()


def same_hash(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role", code="invalid_role")


def check_token_fields(
    name: str, role: Role, functions: tuple[str, ...], expires: datetime | None, now: datetime
) -> None:
    """What a new token may be: named, bound to functions only if an invoker, not expired."""
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise InvalidInput(
            f"name must be 1 to {NAME_MAX} printable characters", field="name", code="invalid_name"
        )
    if functions and role not in BOUNDABLE:
        raise InvalidInput(
            "only invoker tokens can be limited to functions",
            field="functions",
            code="invalid_functions",
        )
    if any(not is_key(key) for key in functions):
        raise InvalidInput(
            "functions must be function keys", field="functions", code="invalid_functions"
        )
    if expires is not None and (expires.tzinfo is None or expires <= now):
        raise InvalidInput(
            "expires must be a future time with a time zone", field="expires", code="invalid_expiry"
        )
