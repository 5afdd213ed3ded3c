"""`GET /internal/artifacts/{key}/{digest}`: a function's built artifact, for its pods' init
container (ADR 0048). Not part of the public API (left out of the schema): the caller is a
pod presenting its function's pull token, which reads that function's artifacts only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import FileResponse

from api.deps import PlatformDep
from engine.artifact_tar import ArtifactStore

router = APIRouter(prefix="/internal/artifacts", include_in_schema=False)
Digest = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
Key = Annotated[str, Path(max_length=64)]


@router.get("/{key}/{digest}")
async def get_artifact(
    key: Key,
    digest: Digest,
    platform: PlatformDep,
    authorization: Annotated[str | None, Header()] = None,
) -> FileResponse:
    store = ArtifactStore.under(platform.settings.data_dir)
    path = store.readable(platform.access.keyring, key, digest, authorization)
    return FileResponse(
        path,
        media_type="application/gzip",
        headers={"ETag": f'"{digest}"', "Cache-Control": "private, max-age=31536000, immutable"},
    )
