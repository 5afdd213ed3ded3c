"""Every error has the documented shape `{"error": {code, message, detail}}` — routing's, the
last-resort handler's, FastAPI's own body errors — and a 405 names every allowed method."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from api.app import create_app
from engine.catalog import BUILTIN_VERSIONS
from engine.settings import Settings
from tests.fixtures.api import AUTH, error_code
from tests.fixtures.fake_target import FakeTarget


def error_of(answer: Any) -> tuple[int, str]:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    return answer.status_code, error_code(answer)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/lambda", "GET, POST, PATCH, DELETE"),
        ("DELETE", "/lambda/setup", "GET, POST"),
        ("POST", "/lambda/list", "GET"),
        ("PATCH", "/lambda/operations/abc", "GET"),
    ],
)
def test_a_405_names_every_method_of_the_path(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    answer = client.request(method, path)
    assert error_of(answer) == (405, "method_not_allowed")
    assert answer.headers["allow"] == allow


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    assert error_of(client.get("/no/such/route")) == (404, "not_found")


def test_an_unexpected_failure_is_a_json_500(settings: Settings) -> None:
    app = create_app(settings, target=FakeTarget())
    with TestClient(
        app, base_url=settings.public_url, headers=AUTH, raise_server_exceptions=False
    ) as client:

        async def broken(*_: object) -> None:
            raise RuntimeError("a bug")

        app.state.platform.store.functions.page = broken
        answer = client.get("/lambda/list")
    assert error_of(answer) == (500, "internal_error")
    assert "a bug" not in answer.text  # the traceback is logged, never sent


def test_a_body_fastapi_cannot_decode_is_a_422_like_ours(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    answer = client.post("/lambda/tokens", content=b"\xff\xfe", headers=headers)
    assert error_of(answer) == (422, "invalid_request")


def test_a_get_of_setup_writes_nothing(client: TestClient, db: Database[dict[str, Any]]) -> None:
    db["lambda.runtime"].delete_many({})
    plan = client.get("/lambda/setup").json()
    shipped = sorted(f"{runtime}:{version}" for runtime, version in BUILTIN_VERSIONS)
    assert plan["missing"] == shipped
    assert db["lambda.runtime"].count_documents({}) == 0
    assert client.post("/lambda/setup").json()["inserted"] == len(shipped)
    assert db["lambda.runtime"].count_documents({}) == len(shipped)


def test_logs_errors_are_documented_ones(client: TestClient) -> None:
    assert error_of(client.get("/lambda/logs", params={"key": "NOT A KEY"})) == (
        404,
        "function_not_found",
    )
    assert error_of(client.get("/lambda/logs", params={"key": "abc"})) == (501, "not_supported")
    assert error_of(client.get("/lambda/logs", params={"key": "abc", "limit": 0})) == (
        422,
        "invalid_request",
    )
    doc = client.get("/openapi.json").json()["paths"]["/lambda/logs"]["get"]["responses"]
    assert {"404", "422", "501"} <= set(doc)
