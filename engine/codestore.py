"""Where function source lives: a content-addressed blob per revision, in MongoDB or S3.

The function and revision documents only hold a `CodeRef` (sha256, size, location), so the
code can move to S3 for large installations while the default keeps everything in one
MongoDB. Writes are idempotent (same sha → same blob), which is what lets a crashed create be
retried, and `sweep` removes blobs no revision references (what a crash between writes leaves).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure

from engine.errors import CodeNotFound, StoreUnavailable
from engine.records import utcnow

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import ObjectIdentifierTypeDef

_T = TypeVar("_T")
IsReferenced = Callable[[str, str], Awaitable[bool]]
"""(function key, sha256) → does any revision still point at this blob?"""

MONGO_PREFIX = "mongo://lambda.code/"
S3_PREFIX = "s3://"


class CodeStore(Protocol):
    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        """Store `code` for function `key`; returns its location. Safe to repeat."""
        ...

    async def get(self, location: str) -> str: ...

    async def delete(self, key: str) -> None:
        """Forget every blob of function `key` (shared blobs stay for their other users)."""
        ...

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        """Remove blobs written before `older_than` that no revision references."""
        ...


class MongoCodeStore:
    """Blobs in `lambda.code`, `_id` = sha256, `refs` = the function keys using it."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._coll = collection

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        del ext  # the sha is the name; the runtime knows the extension
        try:
            await self._coll.update_one(
                {"_id": sha},
                {
                    "$setOnInsert": {"code": code, "size": len(code.encode()), "created": utcnow()},
                    "$addToSet": {"refs": key},
                },
                upsert=True,
            )
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"could not store code: {exc}") from exc
        return MONGO_PREFIX + sha

    async def get(self, location: str) -> str:
        sha = location.removeprefix(MONGO_PREFIX)
        try:
            doc = await self._coll.find_one({"_id": sha}, {"code": 1})
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"could not read code: {exc}") from exc
        if doc is None:
            raise CodeNotFound(f"code {location} is missing", detail={"location": location})
        return str(doc["code"])

    async def delete(self, key: str) -> None:
        try:
            await self._coll.update_many({"refs": key}, {"$pull": {"refs": key}})
            await self._coll.delete_many({"refs": {"$size": 0}})
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"could not delete code: {exc}") from exc

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        removed = 0
        try:
            async for doc in self._coll.find({"created": {"$lt": older_than}}, {"refs": 1}):
                refs = [k for k in doc.get("refs", []) if await is_referenced(k, doc["_id"])]
                if refs:
                    await self._coll.update_one({"_id": doc["_id"]}, {"$set": {"refs": refs}})
                else:
                    await self._coll.delete_one({"_id": doc["_id"]})
                    removed += 1
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"could not sweep code: {exc}") from exc
        return removed


class S3CodeStore:
    """Blobs at `s3://<bucket>/functions/<key>/<sha>.<ext>`; boto3 calls run in a thread."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    @staticmethod
    def object_key(key: str, sha: str, ext: str) -> str:
        return f"functions/{key}/{sha}.{ext}"

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (the base stack normally owns it)."""
        await self._call(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self._bucket)
        except ClientError:
            self._s3.create_bucket(Bucket=self._bucket)

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        name = self.object_key(key, sha, ext)
        await self._call(
            lambda: self._s3.put_object(
                Bucket=self._bucket,
                Key=name,
                Body=code.encode(),
                ContentType="text/plain; charset=utf-8",
            )
        )
        return f"{S3_PREFIX}{self._bucket}/{name}"

    async def get(self, location: str) -> str:
        bucket, _, name = location.removeprefix(S3_PREFIX).partition("/")

        def read() -> str:
            try:
                body = self._s3.get_object(Bucket=bucket, Key=name)["Body"]
            except self._s3.exceptions.NoSuchKey as exc:
                raise CodeNotFound(
                    f"code {location} is missing", detail={"location": location}
                ) from exc
            return body.read().decode()

        return await self._call(read)

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._delete_prefix(f"functions/{key}/"))

    def _delete_prefix(self, prefix: str) -> None:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for page in pages:
            names: list[ObjectIdentifierTypeDef] = [
                {"Key": item["Key"]} for item in page.get("Contents", [])
            ]
            if names:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": names})

    async def sweep(self, is_referenced: IsReferenced, older_than: datetime) -> int:
        candidates = await self._call(lambda: self._list_older(older_than))
        removed = 0
        for name in candidates:
            _, key, file = name.split("/", 2)
            if not await is_referenced(key, file.partition(".")[0]):
                await self._call(functools.partial(self._delete_object, name))
                removed += 1
        return removed

    def _delete_object(self, name: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=name)

    def _list_older(self, older_than: datetime) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix="functions/"
        )
        return [
            item["Key"]
            for page in pages
            for item in page.get("Contents", [])
            if item["LastModified"] < older_than and item["Key"].count("/") == 2
        ]

    async def _call(self, fn: Callable[[], _T]) -> _T:
        """Run a blocking boto3 call off the loop; connection trouble is a store outage."""
        try:
            return await asyncio.to_thread(fn)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 is unavailable: {exc}") from exc
