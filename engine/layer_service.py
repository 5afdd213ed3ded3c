"""Layer versions: publish, read, delete — and what a function's create or update does with the
layers it attaches (resolve them, claim them around its writes).

**Publish** writes in the project's order, content → record: the package (read with the
function packages' rules, `engine.package`) goes to the code store under `lay.code_key`,
then the version record is inserted with `_id` `<name>:<n>`, `n` one past the highest ever
used; a concurrent publish that took `n` makes this one try `n + 1`. A crash in between leaves
a blob no record claims, which the code sweep removes (`is_referenced`).

**Delete vs. attach** (the race: an attach landing between the delete's check and its removal)
is closed by each side writing before it reads, so at least one sees the other:

    attach: claim (pending) → read the version's state → function writes → claim committed
    delete: mark `deleting`  → read the claims       → content → tombstone (`deleted`)

An attach that reads `deleting` fails (`unknown_layer`) and drops its claim; a delete that finds
a claim whose function attaches the version — or a pending one younger than `CLAIM_GRACE`, an
attach still writing — puts the version back to `active` and answers 409
`layer_version_in_use`. Claims whose function no longer attaches the version are dropped (a
compare-and-delete, so a newer claim of the same function survives).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from engine import layers as lay
from engine import package
from engine.errors import (
    InvalidInput,
    LayerPublishConflict,
    LayerVersionInUse,
    LayerVersionNotFound,
    PackageTooLarge,
    UnknownLayer,
)
from engine.layers import LayerRef, LayerUse, LayerVersion
from engine.locks import KeyLocks
from engine.records import utcnow
from engine.spec import FunctionSpec, sha256_text
from engine.store import Store
from engine.store.ports import IsReferenced

CLAIM_GRACE = timedelta(minutes=10)
"""A pending claim this young may belong to an attach still writing: it keeps the version."""
DESCRIPTION_MAX = 256
PUBLISH_ATTEMPTS = 20


class LayerService:
    def __init__(self, store: Store, locks: KeyLocks) -> None:
        self.store = store
        self.repo = store.layers
        self.locks = locks

    async def publish(self, name: str, raw: bytes, description: str = "") -> LayerVersion:
        lay.check_name(name)
        _check_description(description)
        # off the event loop: the zip is inflated and hashed here (up to 250 MB)
        pkg = await asyncio.to_thread(package.read, raw)
        code = pkg.encode()
        sha = sha256_text(package.identity(code))
        for _ in range(PUBLISH_ATTEMPTS):
            version = await self.repo.latest_version(name) + 1
            location = await self.store.code.put(lay.code_key(name, version), sha, "zip", code)
            record = LayerVersion(
                name=name,
                version=version,
                sha256=sha,
                location=location,
                zipped_bytes=len(raw),
                unpacked_bytes=pkg.unpacked_bytes(),
                files=len(pkg.files),
                description=description,
                created=utcnow(),
            )
            if await self.repo.insert(record):
                return record
        raise LayerPublishConflict(
            f"layer {name} is being published by too many requests at once; try again",
            detail={"name": name, "attempts": PUBLISH_ATTEMPTS},
        )

    async def latest(self) -> list[LayerVersion]:
        return await self.repo.latest()

    async def versions(self, name: str) -> list[LayerVersion]:
        return await self.repo.versions(lay.check_name(name))

    async def get(self, name: str, version: int) -> LayerVersion:
        record = await self.repo.get(lay.check_name(name), lay.check_version(version))
        if record is None or record.state == "deleted":
            raise LayerVersionNotFound(f"{name}:{version}")
        return record

    async def delete(self, name: str, version: int) -> None:
        """Idempotent: a deleted version answers as deleted; one in use is 409 (module doc)."""
        record = await self.repo.get(lay.check_name(name), lay.check_version(version))
        if record is None:
            raise LayerVersionNotFound(f"{name}:{version}")
        async with self.locks.hold(f"{lay.CODE_KEY_PREFIX}{record.label}"):
            if not await self.repo.set_state(name, version, "active", "deleting"):
                current = await self.repo.get(name, version)
                if current is None or current.state != "deleting":
                    return  # deleted (before, or meanwhile)
            users = await self._users(name, version)
            if users:
                await self.repo.set_state(name, version, "deleting", "active")
                raise LayerVersionInUse(
                    f"layer version {record.label} is attached to {len(users)} function(s)",
                    detail={"layer": record.label, "functions": users},
                )
            await self.store.code.delete(lay.code_key(name, version))
            await self.repo.set_state(name, version, "deleting", "deleted")

    async def _users(self, name: str, version: int) -> list[str]:
        """Keys of the functions that hold this version; stale claims are dropped."""
        users: list[str] = []
        for use in await self.repo.uses(name, version):
            if await _attaches(self.store, use) or (
                use.state == "pending" and use.at > utcnow() - CLAIM_GRACE
            ):
                users.append(use.key)
            else:
                await self.repo.release(name, version, use.key, at=use.at)
        return sorted(users)


async def _attaches(store: Store, use: LayerUse) -> bool:
    """The function (deleting ones too: until deleted) attaches this version now."""
    record = await store.functions.get(use.key)
    if record is None or record.disabled:
        return False
    return any((r.name, r.version) == (use.name, use.version) for r in record.spec.config.layers)


# --- what a function's create/update does -----------------------------------------------------
async def resolve_layers(store: Store, spec: FunctionSpec) -> FunctionSpec:
    """`spec` with each layer resolved to its stored content; read-only. Unknown (or
    deleting) versions are 422 `unknown_layer`; the function with its layers must unpack to at
    most Lambda's 250 MB."""
    if not spec.config.layers:
        return spec
    refs: list[LayerRef] = []
    for ref in spec.config.layers:
        record = await store.layers.get(ref.name, ref.version)
        if record is None or record.state != "active":
            raise UnknownLayer(ref.label)
        refs.append(record.ref())
    resolved = spec.config.layers.resolved_with(refs)
    _check_total_size(spec, resolved)
    config = dataclasses.replace(spec.config, layers=resolved)
    return FunctionSpec(spec.key, config, spec.code, spec.image, spec.run_command)


@asynccontextmanager
async def claimed_layers(store: Store, spec: FunctionSpec) -> AsyncIterator[None]:
    """Around the writes that attach `spec`'s layers: claim each (pending), then check it is
    still active; on success mark the claims committed, on failure drop them."""
    now = utcnow()
    claims = [LayerUse(r.name, r.version, spec.key, "pending", now) for r in spec.config.layers]
    try:
        for claim in claims:
            await store.layers.claim(claim)
        for ref in spec.config.layers:
            record = await store.layers.get(ref.name, ref.version)
            if record is None or record.state != "active":
                raise UnknownLayer(ref.label)
        yield
    except BaseException:
        for claim in claims:
            await store.layers.release(claim.name, claim.version, claim.key, at=claim.at)
        raise
    for claim in claims:
        await store.layers.claim(dataclasses.replace(claim, state="committed"))


def is_referenced(store: Store) -> IsReferenced:
    """What the code sweep asks of a blob's user: a layer version (by its key) or a
    function's revision."""

    async def referenced(key: str, sha256: str) -> bool:
        if lay.is_code_key(key):
            return await store.layers.referenced(key, sha256)
        return await store.revisions.references(key, sha256)

    return referenced


def _check_total_size(spec: FunctionSpec, layers: lay.Layers) -> None:
    limit = package.Limits().unpacked_bytes
    own = (
        sum(f.size for f in package.manifest(spec.code))
        if spec.is_package
        else len(spec.code.encode())
    )
    total = own + layers.unpacked_bytes()
    if total > limit:
        raise PackageTooLarge(
            f"the function and its layers unpack to {total} bytes; the limit is {limit}",
            limit=limit,
        )


def _check_description(description: str) -> None:
    if len(description) > DESCRIPTION_MAX or not description.isprintable():
        raise InvalidInput(
            f"a layer's description is at most {DESCRIPTION_MAX} printable characters",
            field="description",
            code="invalid_layer_description",
        )
