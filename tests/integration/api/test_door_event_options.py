"""The event options through the API (the app on FerretDB, in process): a bad event format or
route template is 422 with a stable code and nothing written; good ones are kept, shown, and
changed by an update."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from tests.fixtures.api import counts, create, error_code, wait_operation

Db = Database[dict[str, Any]]
PY = {
    "runtime": "python",
    "version": "3.12",
    "file": "def handler(event, context):\n    return 1\n",
}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"event_format": "3.0"}, "invalid_event_format"),
        ({"routes": ["GET items"]}, "invalid_route"),
        ({"routes": ["GET /{proxy+}/x"]}, "invalid_route"),
        ({"routes": ["GET /a", "GET /a"]}, "invalid_route"),
    ],
)
def test_bad_event_options_are_refused_and_nothing_written(
    client: TestClient, db: Db, fields: dict[str, Any], code: str
) -> None:
    before = counts(db)
    answer = client.post("/lambda", json={"name": "opts", **PY, **fields})
    assert answer.status_code == 422, answer.text
    assert error_code(answer) == code
    assert counts(db) == before


def test_event_options_are_kept_shown_and_updated(client: TestClient) -> None:
    routes = ["GET /items/{id}", "$default"]
    created = create(client, "opts", **PY, event_format="1.0", routes=routes)
    key = created["function"]["key"]
    assert wait_operation(client, created["operation"]["id"])["state"] == "succeeded"
    shown = client.get("/lambda", params={"key": key, "code": "false"}).json()
    assert (shown["event_format"], shown["routes"]) == ("1.0", routes)
    changed = client.patch("/lambda", json={"key": key, "routes": []})
    assert changed.status_code == 202, changed.text
    assert wait_operation(client, changed.json()["operation"]["id"])["state"] == "succeeded"
    shown = client.get("/lambda", params={"key": key, "code": "false"}).json()
    assert (shown["event_format"], shown["routes"]) == ("1.0", [])
    refused = client.patch("/lambda", json={"key": key, "event_format": "v1"})
    assert (refused.status_code, error_code(refused)) == (422, "invalid_event_format")
