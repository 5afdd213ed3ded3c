"""Invoke auth per function (like a Function URL's AuthType), with the real local target:
`auth: none` is public and passes the caller's Authorization through; `auth: token` needs an
invoker, developer or admin token allowed for that function, and never forwards it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH, LOCAL_URL, error_code

ECHO = """
def handler(event, context):
    return {"auth": event["headers"].get("authorization")}
"""
NO_AUTH = {"Authorization": ""}


@pytest.fixture
def local(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        mongodb_uri=mongo_uri, database=mongo_db_name, data_dir=tmp_path, target="local"
    )
    with TestClient(create_app(settings), base_url=LOCAL_URL, headers=AUTH) as client:
        yield client


def deploy(client: TestClient, name: str, auth: str) -> str:
    body = {"name": name, "file": ECHO, "runtime": "python", "version": "3.12", "auth": auth}
    made = client.post("/lambda", json=body, params={"wait": "true"})
    assert made.status_code == 200, made.text
    assert made.json()["function"]["auth"] == auth
    key: str = made.json()["function"]["key"]
    return key


def token(client: TestClient, role: str, **fields: Any) -> dict[str, str]:
    made = client.post("/lambda/tokens", json={"name": role, "role": role, **fields}).json()
    return {"Authorization": f"Bearer {made['secret']}"}


def test_public_and_token_protected_functions(local: TestClient) -> None:
    public = deploy(local, "public", "none")
    private = deploy(local, "private", "token")
    other = deploy(local, "other", "token")
    bound = token(local, "invoker", functions=[private])
    viewer = token(local, "viewer")

    answer = local.get(f"/endpoint/{public}", headers={"Authorization": "Basic dTpw"})
    assert answer.status_code == 200 and answer.json() == {"auth": "Basic dTpw"}

    refused = local.get(f"/endpoint/{private}", headers=NO_AUTH)
    assert refused.status_code == 401 and error_code(refused) == "unauthenticated"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    allowed = local.get(f"/endpoint/{private}", headers=bound)
    assert allowed.status_code == 200
    assert allowed.json() == {"auth": None}  # the platform's token never reaches the code
    assert local.get(f"/endpoint/{private}").status_code == 200  # the admin's own token

    elsewhere = local.get(f"/endpoint/{other}", headers=bound)
    assert elsewhere.status_code == 403 and error_code(elsewhere) == "forbidden"
    assert local.get(f"/endpoint/{private}", headers=viewer).status_code == 403


def test_changing_auth_applies_to_the_next_request(local: TestClient) -> None:
    key = deploy(local, "flip", "none")
    assert local.get(f"/endpoint/{key}", headers=NO_AUTH).status_code == 200
    changed = local.patch("/lambda", json={"key": key, "auth": "token"}, params={"wait": "true"})
    assert changed.status_code == 200, changed.text
    assert local.get(f"/endpoint/{key}", headers=NO_AUTH).status_code == 401
    assert json.loads(local.get(f"/endpoint/{key}").text) == {"auth": None}


def test_a_caller_without_a_token_never_starts_a_protected_worker(
    mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=mongo_db_name,
        data_dir=tmp_path,
        target="local",
        idle_timeout_s=0.5,
    )
    with TestClient(create_app(settings), base_url=LOCAL_URL, headers=AUTH) as client:
        private = deploy(client, "private", "token")
        target = client.app.state.platform.target  # type: ignore[attr-defined]
        wait_for(lambda: target.status(private)["pid"] is None)  # scaled to zero
        refused = client.get(f"/endpoint/{private}", headers=NO_AUTH)
        assert refused.status_code == 401
        assert target.status(private)["pid"] is None  # refused before any cold start
        assert client.get(f"/endpoint/{private}").status_code == 200  # the admin may


def wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
