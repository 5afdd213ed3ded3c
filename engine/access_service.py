"""The use cases of access: creating, listing and revoking API tokens, the first admin token,
and checking a presented credential — on the invoke path too, so checks never touch the store.

Every token is held in memory by its hash. Changes made here apply at once; changes made by
another control-plane process arrive with the periodic `refresh` (a few seconds). A token's
last use is written back at most once a minute, off the request's path. Failed checks are
counted per client address: past `failures_per_minute` the client gets 429 for a minute,
before any lookup.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.access import (
    Principal,
    Role,
    TokenRecord,
    check_role,
    check_token_fields,
    looks_like_secret,
    new_secret,
    same_hash,
    secret_hash,
)
from engine.errors import InvalidInput, StoreUnavailable, TokenNotFound, Unauthenticated
from engine.failure_limiter import FailureLimiter
from engine.files import write_private
from engine.keyring import Keyring
from engine.keys import is_key, new_key
from engine.records import utcnow
from engine.store import Store

log = logging.getLogger(__name__)
TOUCH_EVERY_S = 60.0
REFRESH_EVERY_S = 5.0
ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name
CONFIGURED_ADMIN_NAME = "admin (LAMBDACLONE_ADMIN_TOKEN)"


@dataclass(frozen=True)
class Session:
    """A console sign-in: the token it stands for, until when, and its CSRF value."""

    token_id: str
    expires: float
    csrf: str


class AccessService:
    def __init__(
        self, store: Store, keyring: Keyring, *, session_hours: float, failures_per_minute: int
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.session_s = session_hours * 3600
        self.limiter = FailureLimiter(failures_per_minute)
        self._by_hash: dict[str, TokenRecord] = {}
        self._by_id: dict[str, TokenRecord] = {}
        self._touched: dict[str, float] = {}
        self._configured: TokenRecord | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_change: list[Callable[[], None]] = []
        """Called when the tokens held change (the Go data plane pushes its invoke lists)."""

    # --- keeping the view --------------------------------------------------------------------
    async def refresh(self) -> None:
        tokens = await self.store.tokens.all()
        hashes = {t.secret_hash for t in tokens}
        if self._configured is not None and self._configured.secret_hash not in hashes:
            tokens.append(self._configured)  # not stored yet: bootstrap will
        self._by_hash = {t.secret_hash: t for t in tokens}
        self._by_id = {t.id: t for t in tokens}
        self._changed()

    def _remember(self, token: TokenRecord) -> None:
        self._by_hash[token.secret_hash] = token
        self._by_id[token.id] = token
        self._changed()

    def records(self) -> list[TokenRecord]:
        """Every token held in memory (revoked and expired ones included: check `valid_at`)."""
        return list(self._by_hash.values())

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    async def keep_refreshing(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            try:
                await self.refresh()
            except StoreUnavailable as exc:
                log.warning("refreshing tokens failed; keeping the last view: %s", exc)

    # --- the first admin token ---------------------------------------------------------------
    def configure_admin(self, configured: str | None) -> None:
        """Know the configured admin token before the store is reachable (so an operator
        gets 503 `store_unavailable`, not 401, while it is down); `bootstrap` stores it."""
        if configured and looks_like_secret(configured):
            self._configured = _configured_admin(configured)
            self._remember(self._configured)

    async def bootstrap(self, configured: str | None, data_dir: Path) -> str | None:
        """Make sure an admin can sign in: the configured admin token is registered; with
        none configured and no token at all, one is made and written to `admin.token`.
        Returns the secret an operator can use now (None when none is known here)."""
        await self.refresh()
        if configured:
            if not looks_like_secret(configured):
                raise InvalidInput("LAMBDACLONE_ADMIN_TOKEN must be a token `lct_…` (43 chars)")
            token = _configured_admin(configured)
            if not await self.store.tokens.insert(token):
                await self.refresh()
            self._remember(self._by_hash.get(token.secret_hash, token))
            return configured
        path = data_dir / ADMIN_TOKEN_FILE
        if not self._by_hash:
            _, secret = await self.create("admin", "admin")
            write_private(path, secret + "\n")
            return secret
        saved = path.read_text().strip() if path.exists() else ""
        known = self._by_hash.get(secret_hash(saved)) if saved else None
        return saved if known is not None and known.valid_at(utcnow()) else None

    # --- managing tokens ---------------------------------------------------------------------
    async def create(
        self,
        name: str,
        role: str,
        functions: tuple[str, ...] = (),
        expires: datetime | None = None,
    ) -> tuple[TokenRecord, str]:
        """A new token and its secret — the only time the secret exists outside a request."""
        checked = check_role(role)
        check_token_fields(name, checked, functions, expires, utcnow())
        secret = new_secret()
        return await self._insert(name, checked, functions, expires, secret), secret

    async def _insert(
        self,
        name: str,
        role: Role,
        functions: tuple[str, ...],
        expires: datetime | None,
        secret: str,
    ) -> TokenRecord:
        token = TokenRecord(
            id=new_key(),
            name=name,
            role=role,
            secret_hash=secret_hash(secret),
            created=utcnow(),
            functions=functions,
            expires=expires,
        )
        await self.store.tokens.insert(token)
        self._remember(token)
        return token

    async def tokens(self) -> list[TokenRecord]:
        return await self.store.tokens.all()

    async def revoke(self, token_id: str) -> TokenRecord:
        """Revoked in this process at once; in others by their next refresh."""
        token = await self.store.tokens.revoke(token_id, utcnow()) if is_key(token_id) else None
        if token is None:
            raise TokenNotFound(token_id)
        self._remember(token)
        return token

    # --- checking credentials ----------------------------------------------------------------
    def authenticate(self, secret: str | None, client: str) -> Principal:
        """The principal of a bearer secret; `Unauthenticated` for anything else (unknown,
        revoked, expired or malformed look the same), 429 after too many failures. Only
        failures are limited: a valid token behind a busy NAT keeps working (a 256-bit secret
        cannot be guessed, so the limit is against noise, not against guessing)."""
        token = self._lookup(secret)
        if token is None:
            self.limiter.check(client)
            self.limiter.failed(client)
            raise Unauthenticated("a valid API token is required (Authorization: Bearer …)")
        self._touch(token)
        return Principal.of(token)

    def _lookup(self, secret: str | None) -> TokenRecord | None:
        if not secret or not looks_like_secret(secret):
            return None
        presented = secret_hash(secret)
        token = self._by_hash.get(presented)
        if token is None or not same_hash(token.secret_hash, presented):
            return None
        return token if token.valid_at(utcnow()) else None

    def _touch(self, token: TokenRecord) -> None:
        now = time.monotonic()
        if now - self._touched.get(token.id, 0.0) < TOUCH_EVERY_S:
            return
        self._touched[token.id] = now
        task = asyncio.get_running_loop().create_task(self._write_touch(token.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_touch(self, token_id: str) -> None:
        try:
            await self.store.tokens.touch(token_id, utcnow())
        except StoreUnavailable as exc:  # best effort: a lost last-used time fails nothing
            log.debug("recording the use of token %s failed: %s", token_id, exc)

    # --- console sessions --------------------------------------------------------------------
    def sign_in(self, secret: str, client: str) -> tuple[str, Session]:
        """A signed session cookie for a valid token (no store write: the signature is the
        session; revoking the token ends it)."""
        principal = self.authenticate(secret, client)
        session = Session(principal.token_id, time.time() + self.session_s, new_key())
        payload = json.dumps([session.token_id, session.expires, session.csrf]).encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{encoded}.{self.keyring.sign(payload)}", session

    def session_of(self, cookie: str, client: str) -> tuple[Principal, Session]:
        session = self._open_session(cookie)
        token = self._by_id.get(session.token_id)
        if token is None or not token.valid_at(utcnow()):
            self.limiter.failed(client)
            raise Unauthenticated("the console session has ended; sign in again")
        return Principal.of(token), session

    def signed_in(self, cookie: str | None) -> bool:
        """Whether a page may be shown (an ended session just goes to the sign-in page)."""
        if not cookie:
            return False
        try:
            session = self._open_session(cookie)
        except Unauthenticated:
            return False
        token = self._by_id.get(session.token_id)
        return token is not None and token.valid_at(utcnow())

    def _open_session(self, cookie: str) -> Session:
        encoded, _, signature = cookie.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            token_id, expires, csrf = json.loads(payload)
        except (ValueError, TypeError) as exc:
            raise Unauthenticated("the console session is not valid") from exc
        if not self.keyring.verify(payload, signature) or float(expires) < time.time():
            raise Unauthenticated("the console session has ended; sign in again")
        return Session(str(token_id), float(expires), str(csrf))


def _configured_admin(secret: str) -> TokenRecord:
    """The token of LAMBDACLONE_ADMIN_TOKEN, with an id derived from it, so every process
    (and every restart) agrees on it without the store."""
    digest = secret_hash(secret)
    token_id = base64.b32encode(bytes.fromhex(digest)[:16]).decode().rstrip("=").lower()
    return TokenRecord(token_id, CONFIGURED_ADMIN_NAME, "admin", digest, utcnow())
