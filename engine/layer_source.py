"""Reading a layer version's content outside the API's event loop: a target building a
deployment's /opt (off the loop, in a worker thread) reads the code store on a connection of
its own, from the same settings the control plane uses."""

from __future__ import annotations

import asyncio

from engine.embedded.layout import store_uri
from engine.settings import Settings
from engine.store.mongo import connect_configured
from engine.store.ports import CodeStore

S3_PREFIX = "s3://"


def read_layer(settings: Settings, location: str) -> str:
    """The package text at `location` (a blocking call: runs its own event loop)."""
    return asyncio.run(_read(settings, location))


async def _read(settings: Settings, location: str) -> str:
    uri = settings.mongodb_uri or store_uri(settings.data_dir / "ferretdb")
    code = _s3(settings) if location.startswith(S3_PREFIX) else None
    store = connect_configured(settings, uri, code)
    try:
        return await store.code.get(location)
    finally:
        await store.close()


def _s3(settings: Settings) -> CodeStore:
    import boto3  # noqa: PLC0415 - slow to import, only for S3

    from engine.store.s3 import S3CodeStore  # noqa: PLC0415

    client = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
    )
    return S3CodeStore(client, settings.s3_bucket)
