"""`GET /internal/artifacts/{key}/{digest}` on the real app: a function's pull token downloads
exactly its artifact; no token, the admin token, another key's token or another function's
digest get 401/403 and no bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from engine.artifact_tar import ArtifactStore, pull_token
from engine.settings import Settings
from tests.fixtures.api import AUTH, error_code


def artifact(settings: Settings, tmp_path: Path, key: str, content: str) -> str:
    src = tmp_path / f"src-{key}"
    src.mkdir()
    (src / "handler.py").write_text(content)
    return ArtifactStore.under(settings.data_dir).add(src, key, f"build-{key}").digest


def test_a_pull_token_downloads_only_its_own_functions_artifact(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    mine, theirs = (
        artifact(settings, tmp_path, "fna", "A"),
        artifact(settings, tmp_path, "fnb", "B"),
    )
    keyring = client.app.state.platform.access.keyring  # type: ignore[attr-defined]
    token = {"Authorization": f"Bearer {pull_token(keyring, 'fna')}"}

    ok = client.get(f"/internal/artifacts/fna/{mine}", headers=token)
    assert ok.status_code == 200, ok.text
    assert hashlib.sha256(ok.content).hexdigest() == mine
    assert ok.headers["content-type"] == "application/gzip"

    other = client.get(f"/internal/artifacts/fna/{theirs}", headers=token)
    assert (other.status_code, error_code(other)) == (403, "forbidden")
    for path in (f"fnb/{theirs}", f"fnb/{mine}"):  # a's token does not open b's path
        response = client.get(f"/internal/artifacts/{path}", headers=token)
        assert (response.status_code, error_code(response)) == (401, "unauthenticated")
    for headers in ({"Authorization": ""}, AUTH, {"Authorization": "Bearer lcpull_x"}):
        response = client.get(f"/internal/artifacts/fna/{mine}", headers=headers)
        assert (response.status_code, error_code(response)) == (401, "unauthenticated")
        assert hashlib.sha256(response.content).hexdigest() != mine


def test_not_a_digest_is_refused_before_anything_is_read(client: TestClient) -> None:
    response = client.get("/internal/artifacts/fna/..%2F..%2Fadmin.token")
    assert response.status_code in {404, 422}
    assert "/internal/artifacts" not in client.get("/openapi.json").text
