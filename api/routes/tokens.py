"""API tokens (`/lambda/tokens`, admins only), the caller's own identity (`/lambda/whoami`) and
the audit log (`/lambda/audit`, admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Allowed, audit_key
from api.deps import PlatformDep, ReadyPlatformDep
from api.params import Limit
from api.routes.docs import error_responses
from engine.access import Principal, Role, TokenRecord
from engine.audit import AuditEntry

router = APIRouter(prefix="/lambda", tags=["access"])
TokenId = Annotated[str, Path(max_length=64, description="The token's id (not its secret).")]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["ci deploys"], description="What it is for (1-64 characters).")
    role: Role = Field(examples=["developer"])
    functions: list[str] = Field(
        default_factory=list,
        description="Invoker tokens only: the function keys it may invoke (empty: any).",
    )
    expires: datetime | None = Field(
        default=None, description="When it stops working (ISO 8601 with a time zone)."
    )


class TokenOut(BaseModel):
    id: str
    name: str
    role: Role
    functions: list[str]
    created: datetime
    expires: datetime | None
    last_used: datetime | None
    revoked: datetime | None

    @classmethod
    def of(cls, token: TokenRecord) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=token.role,
            functions=list(token.functions),
            created=token.created,
            expires=token.expires,
            last_used=token.last_used,
            revoked=token.revoked,
        )


class CreatedToken(BaseModel):
    token: TokenOut
    secret: str = Field(description="The token itself: shown this once, stored only as a hash.")


class TokenList(BaseModel):
    items: list[TokenOut]


class WhoAmI(BaseModel):
    token: str = Field(description="The id of the token the request used.")
    name: str
    role: Role
    functions: list[str]

    @classmethod
    def of(cls, principal: Principal) -> WhoAmI:
        return cls(
            token=principal.token_id,
            name=principal.name,
            role=principal.role,
            functions=list(principal.functions),
        )


class AuditOut(BaseModel):
    at: datetime
    action: str
    token_id: str
    token_name: str
    role: str
    result: str
    status: int
    key: str | None
    detail: dict[str, object]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class AuditPage(BaseModel):
    items: list[AuditOut]


@router.post(
    "/tokens",
    status_code=201,
    summary="Create an API token",
    description="The answer carries the token's secret, once; only its hash is stored.",
    responses=error_responses(401, 403, 422, 503),
    dependencies=[Allowed("tokens:manage")],
)
async def create_token(
    request: Request, body: TokenBody, platform: ReadyPlatformDep
) -> CreatedToken:
    token, secret = await platform.access.create(
        body.name, body.role, tuple(body.functions), body.expires
    )
    audit_key(request, token.id)
    return CreatedToken(token=TokenOut.of(token), secret=secret)


@router.get(
    "/tokens",
    summary="List API tokens",
    description="Every token, revoked ones included; never a secret.",
    responses=error_responses(401, 403, 503),
    dependencies=[Allowed("tokens:manage")],
)
async def list_tokens(platform: ReadyPlatformDep) -> TokenList:
    return TokenList(items=[TokenOut.of(t) for t in await platform.access.tokens()])


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token",
    description="It stops working at once (in other control-plane processes within seconds).",
    responses=error_responses(401, 403, 404, 503),
    dependencies=[Allowed("tokens:manage")],
)
async def revoke_token(request: Request, token_id: TokenId, platform: ReadyPlatformDep) -> TokenOut:
    audit_key(request, token_id)
    return TokenOut.of(await platform.access.revoke(token_id))


@router.get(
    "/whoami",
    summary="The caller's own token",
    description="Name, role and function limits of the credential the request carries.",
    responses=error_responses(401, 403),
    dependencies=[Allowed("self:read")],
)
async def whoami(request: Request, response: Response) -> WhoAmI:
    response.headers["Cache-Control"] = "no-store"
    principal: Principal = request.state.principal
    return WhoAmI.of(principal)


@router.get(
    "/audit",
    summary="The audit log",
    description="Who did what when: every mutation and token change, newest first.",
    responses=error_responses(401, 403, 503),
    dependencies=[Allowed("audit:read")],
)
async def audit_log(
    platform: PlatformDep,
    limit: Limit = 100,
    before: Annotated[datetime | None, Query(description="Entries older than this.")] = None,
) -> AuditPage:
    entries = await platform.store.audit.page(limit, before)
    return AuditPage(items=[AuditOut.of(e) for e in entries])
