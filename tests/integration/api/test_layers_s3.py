"""Layer content in the S3 code store: published through the API, read back the way a target
building /opt reads it (its own connection, `engine.layer_source`), removed by a delete."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import package
from engine.layer_source import read_layer
from engine.settings import Settings
from tests.fixtures.api import AUTH, LOCAL_URL
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.packages import zip_of


def test_layer_content_lives_in_s3_and_goes_with_its_version(
    s3_endpoint: str,
    mongo_uri: str,
    mongo_db_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    bucket = f"layers-{mongo_db_name.replace('_', '-')}"
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=mongo_db_name,
        data_dir=tmp_path,
        code_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=bucket,
    )
    app = create_app(settings, target=FakeTarget())
    with TestClient(app, base_url=LOCAL_URL, headers=AUTH) as client:
        answer = client.post(
            "/lambda/layers",
            content=zip_of({"python/shared.py": "X = 1\n"}),
            headers={"content-type": "application/zip"},
            params={"name": "In_S3"},
        )
        assert answer.status_code == 201, answer.text
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        names = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert len(names) == 1 and names[0].startswith("functions/layer-1-")
        code = read_layer(settings, f"s3://{bucket}/{names[0]}")
        assert [f.path for f in package.manifest(code)] == ["python/shared.py"]

        gone = client.delete("/lambda/layers/version", params={"name": "In_S3", "version": 1})
        assert gone.status_code == 204
        assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
