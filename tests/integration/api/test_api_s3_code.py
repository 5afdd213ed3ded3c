"""code_store=s3: the app keeps function code in an S3 bucket (a real moto server)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH, LOCAL_URL, NODE_CODE, create, wait_operation
from tests.fixtures.fake_target import FakeTarget


def test_code_lives_in_s3(
    s3_endpoint: str,
    mongo_uri: str,
    mongo_db_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    bucket = f"code-{mongo_db_name.replace('_', '-')}"
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=mongo_db_name,
        data_dir=tmp_path,
        code_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=bucket,
    )
    target = FakeTarget()
    with TestClient(
        create_app(settings, target=target), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        body = create(client)
        key = body["function"]["key"]
        sha = body["function"]["code"]["sha256"]
        assert body["function"]["code"]["location"] == f"s3://{bucket}/functions/{key}/{sha}.mjs"
        assert wait_operation(client, body["operation"]["id"])["state"] == "succeeded"
        assert target.applied[key].code == NODE_CODE
        assert client.get("/lambda", params={"key": key}).json()["file"] == NODE_CODE
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    names = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == [f"functions/{key}/{sha}.mjs"]
