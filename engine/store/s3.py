"""Function source in S3, for installations that keep code artifacts in a bucket.

The function and revision documents only hold a `CodeRef` (sha256, size, location), so the
code can live in S3 while the rest stays in MongoDB; the object key is the one the Kubernetes
target's artifact uses (`engine.formats.code_object_key`). Boto3 calls run in a thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from engine.errors import CodeNotFound, StoreUnavailable
from engine.formats import CODE_OBJECT_PREFIX, code_object_key
from engine.store.ports import IsReferenced

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import ObjectIdentifierTypeDef

_T = TypeVar("_T")
S3_PREFIX = "s3://"


class S3CodeStore:
    """Blobs at `s3://<bucket>/functions/<key>/<sha>.<ext>`."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    async def prepare(self) -> None:
        """Create the bucket when it is missing (the base stack normally owns it)."""
        await self._call(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self._bucket)
        except ClientError:
            self._s3.create_bucket(Bucket=self._bucket)

    async def put(self, key: str, sha: str, ext: str, code: str) -> str:
        name = code_object_key(key, sha, ext)
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
        await self._call(lambda: self._delete_prefix(f"{CODE_OBJECT_PREFIX}{key}/"))

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
            Bucket=self._bucket, Prefix=CODE_OBJECT_PREFIX
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
