"""The /lambda/layers routes: publish a layer version (a zip body), list layers and their
versions, read one version's metadata, delete one (409 while a function attaches it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import Allowed
from api.deps import ReadyPlatformDep
from api.routes.docs import error_responses
from engine import package
from engine.errors import PackageRefused, PackageTooLarge, UnsupportedMediaType
from engine.layer_service import LayerService
from engine.layers import NAME_MAX, LayerVersion

router = APIRouter(prefix="/lambda/layers", tags=["layers"])
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
"""The zip's types (any other body is 415); the content is checked to be a zip either way."""
BINARY = {"schema": {"type": "string", "format": "binary"}}

LayerName = Annotated[
    str, Query(min_length=1, max_length=NAME_MAX, description="Letters, digits, `-`, `_`.")
]
VersionQuery = Annotated[int, Query(ge=1, description="The version number (from 1).")]


class LayerVersionOut(BaseModel):
    name: str = Field(examples=["shared-utils"])
    version: int = Field(examples=[1])
    ref: str = Field(examples=["shared-utils:1"], description="What a function's `layers` lists.")
    sha256: str = Field(description="The content's identity (its files' manifest hash).")
    zipped_bytes: int
    unpacked_bytes: int
    files: int
    description: str
    created: datetime

    @classmethod
    def of(cls, layer: LayerVersion) -> LayerVersionOut:
        return cls(
            name=layer.name,
            version=layer.version,
            ref=layer.label,
            sha256=layer.sha256,
            zipped_bytes=layer.zipped_bytes,
            unpacked_bytes=layer.unpacked_bytes,
            files=layer.files,
            description=layer.description,
            created=layer.created,
        )


class LayerList(BaseModel):
    items: list[LayerVersionOut]


def _service(platform: ReadyPlatformDep) -> LayerService:
    return LayerService(platform.store, platform.service.locks)


@router.post(
    "",
    summary="Publish a layer version",
    description="The body is the layer's zip (`Content-Type: application/zip`), in Lambda's "
    "layout (`python/`, `nodejs/node_modules/`, `bin/`, `lib/`), read with the function "
    "packages' rules (50 MB zipped, 250 MB unpacked, no unsafe paths, symlinks out or bombs: "
    "the `package_*` codes, nothing stored). Each publish of a name makes its next version.",
    status_code=201,
    responses=error_responses(409, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": BINARY, "application/octet-stream": BINARY},
        }
    },
    dependencies=[Allowed("functions:write")],
)
async def publish_layer(
    *,
    request: Request,
    response: Response,
    platform: ReadyPlatformDep,
    name: LayerName,
    description: Annotated[str, Query(max_length=256)] = "",
) -> LayerVersionOut:
    raw = await _zip_body(request)
    layer = await _service(platform).publish(name, raw, description)
    response.headers["Location"] = f"/lambda/layers/version?name={name}&version={layer.version}"
    return LayerVersionOut.of(layer)


@router.get(
    "",
    summary="List layers",
    description="The newest version of every layer, by name.",
    responses=error_responses(503),
    dependencies=[Allowed("functions:read")],
)
async def list_layers(*, platform: ReadyPlatformDep) -> LayerList:
    layers = await _service(platform).latest()
    return LayerList(items=[LayerVersionOut.of(layer) for layer in layers])


@router.get(
    "/versions",
    summary="List a layer's versions",
    description="Its versions that are not deleted, newest first (none: an empty list).",
    responses=error_responses(422, 503),
    dependencies=[Allowed("functions:read")],
)
async def list_layer_versions(*, platform: ReadyPlatformDep, name: LayerName) -> LayerList:
    versions = await _service(platform).versions(name)
    return LayerList(items=[LayerVersionOut.of(layer) for layer in versions])


@router.get(
    "/version",
    summary="Get a layer version",
    description="One version's metadata (not its content); 404 `layer_version_not_found`.",
    responses=error_responses(404, 422, 503),
    dependencies=[Allowed("functions:read")],
)
async def get_layer_version(
    *, platform: ReadyPlatformDep, name: LayerName, version: VersionQuery
) -> LayerVersionOut:
    return LayerVersionOut.of(await _service(platform).get(name, version))


@router.delete(
    "/version",
    summary="Delete a layer version",
    description="204, also when it was deleted before. While any function attaches it (one "
    "being deleted too) it stays: 409 `layer_version_in_use` with `detail.functions`.",
    status_code=204,
    responses=error_responses(404, 409, 422, 503),
    dependencies=[Allowed("functions:write")],
)
async def delete_layer_version(
    *, platform: ReadyPlatformDep, name: LayerName, version: VersionQuery
) -> Response:
    await _service(platform).delete(name, version)
    return Response(status_code=204)


async def _zip_body(request: Request) -> bytes:
    """The zip body, read as a stream and refused (413 `package_too_large`) past the limit."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in ZIP_TYPES:
        raise UnsupportedMediaType(
            f"send the layer as {ZIP_TYPES[0]}, not {media_type or 'untyped'}",
            detail={"content_type": media_type, "accepted": list(ZIP_TYPES)},
        )
    limit = package.Limits().zipped_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        why = f"the layer is {length} bytes zipped; the limit is {limit}"
        raise PackageTooLarge(why, limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            why = f"the layer is more than {limit} bytes zipped; the limit is {limit}"
            raise PackageTooLarge(why, limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not package.is_archive(raw):
        raise PackageRefused("the body is not a zip archive", code="invalid_package")
    return raw
