"""The whole control plane with the real local target: create → invoke → update → delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.catalog import read_default_code
from engine.settings import Settings
from tests.fixtures.api import AUTH, LOCAL_URL, error_code

LAMBDA_STYLE = """
def handler(event, context):
    return {"statusCode": 201, "body": "v2:" + (event.get("rawQueryString") or "")}
"""


@pytest.fixture
def local_client(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=mongo_db_name,
        data_dir=tmp_path,
        target="local",
        worker_start_timeout_s=20.0,
    )
    with TestClient(create_app(settings), base_url=LOCAL_URL, headers=AUTH) as client:
        yield client


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_default_code_runs_and_is_updated_then_deleted(
    local_client: TestClient, runtime: str
) -> None:
    body = {"name": f"hello-{runtime}", "file": read_default_code(runtime), "runtime": runtime}
    created = local_client.post("/lambda", json=body, params={"wait": "true"})
    assert created.status_code == 200, created.text
    fn = created.json()["function"]
    assert fn["status"]["phase"] == "Ready"
    key = fn["key"]

    answer = local_client.get(f"/endpoint/{key}", params={"who": "me"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["params"] == {"who": "me"}

    if runtime == "python":
        update = {"key": key, "file": LAMBDA_STYLE}
        updated = local_client.patch("/lambda", json=update, params={"wait": "true"})
        assert updated.status_code == 200, updated.text
        again = local_client.get(f"/endpoint/{key}", params={"a": "1"})
        assert (again.status_code, again.text) == (201, "v2:a=1")

    deleted = local_client.delete("/lambda", params={"key": key, "wait": "true"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["function"]["status"]["phase"] == "Deleted"
    gone = local_client.get(f"/endpoint/{key}")
    assert gone.status_code == 404 and error_code(gone) == "function_not_found"
