"""Cross-site request protection of the /lambda writes: a web page the developer visits must
not be able to create (and so run) code through their local control plane."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH, NODE_CODE, counts, create, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]
BODY = {"name": "guarded", "file": NODE_CODE}


def _writes(key: str) -> list[tuple[str, dict[str, Any]]]:
    """Every state-changing /lambda request, with a body that would otherwise succeed."""
    return [
        ("POST", {"json": BODY}),
        ("PATCH", {"json": {"key": key, "memory_mb": 256}}),
        ("DELETE", {"params": {"key": key}}),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "http://lambda.test:8080"},  # another port is another origin
        {"Origin": "https://lambda.test.evil.example"},
        {"Origin": "null"},  # sandboxed frames, file:// pages
    ],
)
def test_cross_site_writes_are_403_and_change_nothing(
    client: TestClient, db: Db, headers: dict[str, str]
) -> None:
    created = create(client)
    key = created["function"]["key"]
    wait_operation(client, created["operation"]["id"])
    before = counts(db)
    snapshot = db["lambda"].find_one({"_id": key})
    for method, kwargs in _writes(key):
        response = client.request(method, "/lambda", headers=headers, **kwargs)
        assert response.status_code == 403, (method, response.text)
        assert error_code(response) == "cross_site_request"
    assert counts(db) == before
    assert db["lambda"].find_one({"_id": key}) == snapshot


def test_a_cross_site_multipart_upload_is_403(client: TestClient, db: Db) -> None:
    before = counts(db)
    response = client.post(
        "/lambda",
        data={"name": "uploaded"},
        files={"file": ("handler.mjs", NODE_CODE.encode(), "text/plain")},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403 and error_code(response) == "cross_site_request"
    assert counts(db) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://lambda.test", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "https://lambda.test"},  # TLS ended by a proxy in front
        {"Origin": "HTTP://Lambda.Test:80"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar, a bookmark
        {},  # the CLI, curl, scripts: no Origin at all
    ],
)
def test_same_origin_and_non_browser_writes_are_accepted(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.post("/lambda", json=BODY, headers=headers)
    assert response.status_code == 202, response.text


def test_same_origin_multipart_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/lambda",
        data={"name": "uploaded"},
        files={"file": ("handler.mjs", NODE_CODE.encode(), "text/plain")},
        headers={"Origin": "http://lambda.test"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what a cross-site <form enctype="text/plain"> or fetch(no-cors) sends
        "application/x-www-form-urlencoded",
        "application/jsonp",
        None,
    ],
)
def test_json_needs_its_content_type(client: TestClient, db: Db, content_type: str | None) -> None:
    before = counts(db)
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/lambda", content=json.dumps(BODY).encode(), headers=headers)
    assert response.status_code == 415, response.text
    assert error_code(response) == "unsupported_media_type"
    assert counts(db) == before


def test_json_with_a_charset_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/lambda",
        content=json.dumps(BODY).encode(),
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "127.0.0.2"])
def test_writes_for_an_unknown_host_are_403(client: TestClient, db: Db, host: str) -> None:
    """DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1 is
    same-origin with itself, so only the Host header gives it away."""
    key = create(client)["function"]["key"]
    before = counts(db)
    origin = {"Host": host, "Origin": f"http://{host}"}
    for method, kwargs in _writes(key):
        response = client.request(method, "/lambda", headers=origin, **kwargs)
        assert response.status_code == 403, (method, response.text)
        assert error_code(response) == "host_not_allowed"
    assert counts(db) == before
    read = client.get("/lambda/list", headers=origin)  # reads too, since the Trust issue
    assert read.status_code == 403 and error_code(read) == "host_not_allowed"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1234", "[::1]:8000", "lambda.test"]
)
def test_the_default_hosts_are_allowed(client: TestClient, host: str) -> None:
    response = client.post("/lambda", json=BODY, headers={"Host": host})
    assert response.status_code == 202, response.text


def test_a_star_allows_every_host(settings: Settings, target: FakeTarget, tmp_path: Path) -> None:
    """The in-cluster deployment behind a load balancer, whose host names vary."""
    anywhere = settings.model_copy(update={"allowed_hosts": ("*",)})
    with TestClient(
        create_app(anywhere, target=target), base_url="http://lb.example", headers=AUTH
    ) as client:
        assert client.post("/lambda", json=BODY).status_code == 202
        cross = client.post("/lambda", json=BODY, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and error_code(cross) == "cross_site_request"


def test_invoke_and_reads_are_not_guarded(client: TestClient) -> None:
    """Functions are public endpoints: any page may call them; reads change nothing (a page
    of another site still has no credential to send, and its Host must be ours)."""
    key = create(client)["function"]["key"]
    cross = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "Host": "x.example"}
    invoked = client.post(f"/endpoint/{key}", content=b"{}", headers=cross)
    assert error_code(invoked) == "function_not_ready"  # reached the target (a fake one)
    ours = {**cross, "Host": "lambda.test"}
    assert client.get("/lambda", params={"key": key}, headers=ours).status_code == 200
    assert client.get("/lambda/list", headers=ours).status_code == 200
