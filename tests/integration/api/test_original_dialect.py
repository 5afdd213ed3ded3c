"""The original backend's contract under /original, row by row (see docs/compatibility.md):
shapes, statuses, the `{"error": "<message>"}` failures and list paging/sorting."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from api import original
from api.app import create_app
from engine.errors import TargetError
from engine.keys import is_key
from engine.settings import Settings
from tests.fixtures.api import AUTH
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]
LAMBDA_KEYS = {"id", "title", "runtime", "version", "code", "disabled", "reg_date", "update_date"}
RUNTIME_KEYS = {
    "runtime", "version", "image", "default_code", "run_command", "disabled", "reg_date",
    "update_date",
}  # fmt: skip
GO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z")
NODE_CODE = "export default function handler(req, res) { res.status(200).json({ok: 1}); }\n"
PY_CODE = "from flask import jsonify\n\ndef handler():\n    return jsonify(ok=1), 200\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"original_api": "public"})


def new_lambda(title: str = "Hello", **fields: Any) -> dict[str, Any]:
    """What the original console posts: its Lambda model, `id` and `endpoint` empty."""
    body = {"title": title, "id": "", "runtime": "node", "version": "20", "endpoint": ""}
    return {**body, "code": NODE_CODE, **fields}


def create(client: TestClient, title: str = "Hello", **fields: Any) -> str:
    response = client.post("/original/lambda", json=new_lambda(title, **fields))
    assert response.status_code == 200, response.text
    key: str = response.json()
    return key


def assert_error(response: Any, status: int, message: str | None = None) -> None:
    """The original's error shape: exactly `{"error": "<message>"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    if message is not None:
        assert message in body["error"]


# --- GET /lambda/runtimes, GET /lambda/default -----------------------------------------------
def test_runtimes(client: TestClient) -> None:
    response = client.get("/original/lambda/runtimes")
    assert response.status_code == 200
    runtimes = response.json()["runtimes"]
    assert set(response.json()) == {"runtimes"}
    assert {(r["runtime"], r["version"]) for r in runtimes} >= {
        ("golang", "1.22"),
        ("node", "20"),
        ("python", "3.12"),
    }
    for runtime in runtimes:
        assert set(runtime) == RUNTIME_KEYS
        assert runtime["disabled"] is False and runtime["default_code"] and runtime["image"]
        assert GO_TIME.fullmatch(runtime["reg_date"]) and GO_TIME.fullmatch(runtime["update_date"])


def test_default(client: TestClient) -> None:
    response = client.get("/original/lambda/default")
    assert response.status_code == 200
    default = response.json()
    assert set(default) == LAMBDA_KEYS
    assert (default["runtime"], default["version"]) == ("node", "20")
    assert (default["id"], default["title"], default["disabled"]) == ("", "", False)
    node = next(r for r in client.get("/original/lambda/runtimes").json()["runtimes"]
                if r["runtime"] == "node")  # fmt: skip
    assert default["code"] == node["default_code"]
    assert GO_TIME.fullmatch(default["reg_date"])


# --- POST /lambda ------------------------------------------------------------------------------
def test_create_answers_the_id_after_deploying(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    response = client.post("/original/lambda", json=new_lambda("My First Function!"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    key = response.json()
    assert isinstance(key, str) and is_key(key)
    assert key in target.applied  # deployed before the answer
    doc = db["lambda"].find_one({"_id": key})
    assert doc is not None
    assert (doc["name"], doc["title"]) == ("my-first-function", "My First Function!")
    got = client.get("/original/lambda", params={"id": key}).json()
    assert (got["title"], got["code"], got["runtime"], got["version"]) == (
        "My First Function!",
        NODE_CODE,
        "node",
        "20",
    )


def test_create_other_runtimes_and_free_text_titles(client: TestClient, db: Db) -> None:
    key = create(client, "할 일 목록", runtime="python", version="3.12", code=PY_CODE)
    doc = db["lambda"].find_one({"_id": key})
    assert doc is not None and (doc["name"], doc["title"]) == ("function", "할 일 목록")
    assert client.get("/original/lambda", params={"id": key}).json()["runtime"] == "python"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "lambda is not a valid format"),
        ({"runtime": ""}, "lambda is not a valid format"),
        ({"version": ""}, "lambda is not a valid format"),
        ({"id": "abc"}, "lambda id param should not be set"),
        ({"runtime": "cobol", "version": "85"}, "cobol 85"),
        ({"code": ""}, "code is empty"),
        ({"title": 5}, "title"),
        ({"title": "two\nlines"}, "title"),
    ],
)
def test_create_refusals_are_400(
    client: TestClient, target: FakeTarget, fields: dict[str, Any], message: str
) -> None:
    assert_error(client.post("/original/lambda", json=new_lambda(**fields)), 400, message)
    assert not target.applied


def test_create_needs_a_json_body(client: TestClient) -> None:
    as_text = client.post(
        "/original/lambda", content=b'{"title": "x"}', headers={"content-type": "text/plain"}
    )
    assert_error(as_text, 400, "application/json")
    form = client.post("/original/lambda", data={"title": "x", "runtime": "node"})
    assert_error(form, 400, "application/json")
    broken = client.post(
        "/original/lambda", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_error(broken, 400)


def test_a_failed_deployment_is_500_with_its_message(
    client: TestClient, target: FakeTarget
) -> None:
    target.fail_with = TargetError("the cluster is full")
    assert_error(client.post("/original/lambda", json=new_lambda()), 500, "the cluster is full")


def test_a_slow_deployment_still_answers_200_with_the_id(
    client: TestClient, target: FakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait is bounded; the function exists and keeps deploying."""
    monkeypatch.setattr(original.routes, "ORIGINAL_WAIT_S", 0.2)
    target.gate = threading.Event()
    try:
        response = client.post("/original/lambda", json=new_lambda())
        assert response.status_code == 200
        assert is_key(response.json())
    finally:
        target.gate.set()


# --- GET /lambda?id= ---------------------------------------------------------------------------
def test_get_one_with_its_code(client: TestClient) -> None:
    key = create(client, "Getter")
    response = client.get("/original/lambda", params={"id": key})
    assert response.status_code == 200
    got = response.json()
    assert set(got) == LAMBDA_KEYS
    assert (got["id"], got["title"], got["code"], got["disabled"]) == (
        key,
        "Getter",
        NODE_CODE,
        False,
    )
    assert GO_TIME.fullmatch(got["reg_date"]) and GO_TIME.fullmatch(got["update_date"])


def test_get_errors(client: TestClient) -> None:
    assert_error(client.get("/original/lambda"), 400, "invalid parameter id")
    assert_error(client.get("/original/lambda", params={"id": ""}), 400, "invalid parameter id")
    assert_error(client.get("/original/lambda", params={"id": "nope"}), 400, "nope")
    assert_error(client.get("/original/lambda", params={"id": "x" * 65}), 400, "id")


# --- GET /lambda/list --------------------------------------------------------------------------
@pytest.fixture
def three(client: TestClient) -> Iterator[list[str]]:
    """Three functions created in order b, c, a (distinct reg_dates)."""
    keys = []
    for title in ("b-title", "c-title", "a-title"):
        keys.append(create(client, title))
        time.sleep(0.003)
    yield keys


def titles(response: Any) -> list[str]:
    return [item["title"] for item in response.json()["lambdas"]]


def test_list_defaults_to_newest_first(client: TestClient, three: list[str]) -> None:
    response = client.get("/original/lambda/list")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lambdas", "pages", "cnt"}
    assert (body["pages"], body["cnt"]) == (1, 3)
    assert [item["id"] for item in body["lambdas"]] == list(reversed(three))
    for item in body["lambdas"]:
        assert set(item) == LAMBDA_KEYS and item["code"] == "" and item["disabled"] is False


def test_list_pages(client: TestClient, three: list[str]) -> None:
    first = client.get("/original/lambda/list", params={"limit": 2, "page": 1}).json()
    second = client.get("/original/lambda/list", params={"limit": 2, "page": 2}).json()
    beyond = client.get("/original/lambda/list", params={"limit": 2, "page": 3}).json()
    assert [len(first["lambdas"]), len(second["lambdas"]), len(beyond["lambdas"])] == [2, 1, 0]
    assert (first["pages"], first["cnt"]) == (2, 3)
    assert [i["title"] for i in first["lambdas"] + second["lambdas"]] == [
        "a-title",
        "c-title",
        "b-title",
    ]


def test_list_sort_and_asc(client: TestClient, three: list[str]) -> None:
    oldest = client.get("/original/lambda/list", params={"asc": "true"})
    assert titles(oldest) == ["b-title", "c-title", "a-title"]
    by_title = client.get("/original/lambda/list", params={"sort": "title", "asc": "true"})
    assert titles(by_title) == ["a-title", "b-title", "c-title"]
    by_title_desc = client.get("/original/lambda/list", params={"sort": "title", "asc": "false"})
    assert titles(by_title_desc) == ["c-title", "b-title", "a-title"]
    for field in ("update_date", "runtime", "version", "id", "_id"):
        assert client.get("/original/lambda/list", params={"sort": field}).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "0"}, "parameter page must be > 0"),
        ({"page": "-1"}, "parameter page must be > 0"),
        ({"page": "one"}, "page"),
        ({"asc": "yes"}, "parameter asc must be true or false or not set"),
        ({"asc": "True"}, "parameter asc must be true or false or not set"),
        ({"sort": "password"}, "parameter sort must be one of"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": "1001"}, "limit"),
    ],
)
def test_list_refusals_are_400(client: TestClient, params: dict[str, str], message: str) -> None:
    assert_error(client.get("/original/lambda/list", params=params), 400, message)


def test_empty_list(client: TestClient) -> None:
    assert client.get("/original/lambda/list").json() == {"lambdas": [], "pages": 0, "cnt": 0}


# --- PATCH /lambda -----------------------------------------------------------------------------
def test_save_answers_an_empty_200_after_deploying(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    key = create(client, "Before")
    saved = {**new_lambda("After", code=PY_CODE, runtime="python", version="3.12"), "id": key}
    saved["endpoint"] = f"http://lambda.test/endpoint/{key}"  # what the console sends
    response = client.patch("/original/lambda", json=saved)
    assert (response.status_code, response.content) == (200, b"")
    assert target.applied[key].runtime == "python"
    got = client.get("/original/lambda", params={"id": key}).json()
    assert (got["title"], got["code"], got["runtime"], got["version"]) == (
        "After",
        PY_CODE,
        "python",
        "3.12",
    )
    doc = db["lambda"].find_one({"_id": key})
    assert doc is not None and doc["name"] == "before"  # the DNS name stays


def test_an_unchanged_save_is_200(client: TestClient) -> None:
    key = create(client)
    response = client.patch("/original/lambda", json={**new_lambda(), "id": key})
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "lambda is not a valid format"),
        ({"code": " "}, "lambda is not a valid format"),
        ({"id": ""}, "lambda id param should be set"),
        ({"id": "nope"}, "nope"),
        ({"version": "99"}, "node 99"),
    ],
)
def test_save_refusals_are_400(client: TestClient, fields: dict[str, Any], message: str) -> None:
    key = create(client)
    body = {**new_lambda(), "id": key, **fields}
    assert_error(client.patch("/original/lambda", json=body), 400, message)


def test_a_failed_save_is_500(client: TestClient, target: FakeTarget) -> None:
    key = create(client)
    target.fail_with = TargetError("image pull failed")
    body = {**new_lambda(code=NODE_CODE + "// v2\n"), "id": key}
    assert_error(client.patch("/original/lambda", json=body), 500, "image pull failed")


# --- DELETE /lambda?id= ------------------------------------------------------------------------
def test_delete_answers_an_empty_200(client: TestClient, target: FakeTarget) -> None:
    key = create(client)
    response = client.delete("/original/lambda", params={"id": key})
    assert (response.status_code, response.content) == (200, b"")
    assert key not in target.applied
    assert client.get("/original/lambda/list").json()["cnt"] == 0
    assert client.get("/original/lambda", params={"id": key}).json()["disabled"] is True
    again = client.delete("/original/lambda", params={"id": key})
    assert (again.status_code, again.content) == (200, b"")


def test_delete_errors(client: TestClient, target: FakeTarget) -> None:
    assert_error(client.delete("/original/lambda"), 400, "invalid parameter id")
    assert_error(client.delete("/original/lambda", params={"id": "nope"}), 400, "nope")
    key = create(client)
    target.fail_with = TargetError("cannot reach the cluster")
    assert_error(client.delete("/original/lambda", params={"id": key}), 500, "cannot reach")


# --- the setting, the translation ----------------------------------------------------------------
def test_the_dialect_is_off_by_default(settings: Settings, target: FakeTarget) -> None:
    app = create_app(settings.model_copy(update={"original_api": "off"}), target=target)
    with TestClient(app, base_url=settings.public_url) as off:
        assert off.get("/original/lambda/list").status_code == 404


def test_an_unknown_route_under_original_is_404(client: TestClient) -> None:
    assert client.get("/original/lambda/setup").status_code == 404


def test_go_time_matches_go_json_of_a_mongodb_date() -> None:
    assert original.go_time(datetime(2024, 5, 1, 12, 34, 56, 789000, UTC)) == (
        "2024-05-01T12:34:56.789Z"
    )
    assert original.go_time(datetime(2024, 5, 1, 12, 34, 56, 780999, UTC)) == (
        "2024-05-01T12:34:56.78Z"
    )
    assert original.go_time(datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)) == "2024-05-01T12:34:56Z"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("My API v2!", "my-api-v2"),
        ("Café crème", "cafe-creme"),
        ("--hello__world--", "hello-world"),
        ("할 일", "function"),
        ("x" * 70, "x" * 63),
        ("a" * 62 + " b", "a" * 62),
    ],
)
def test_name_from_title(title: str, name: str) -> None:
    assert original.name_from_title(title) == name


# --- who may call it -------------------------------------------------------------------------
def test_public_mode_needs_no_token(settings: Settings, target: FakeTarget) -> None:
    with TestClient(create_app(settings, target=target), base_url=settings.public_url) as anon:
        key = create(anon, "Anonymous")
        assert anon.get("/original/lambda", params={"id": key}).json()["title"] == "Anonymous"


@pytest.fixture
def guarded(settings: Settings, target: FakeTarget) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"original_api": "on"}), target=target)
    with TestClient(app, base_url=settings.public_url) as test_client:
        yield test_client


def test_on_mode_asks_for_a_token_in_the_original_error_shape(guarded: TestClient) -> None:
    response = guarded.get("/original/lambda/list")
    assert_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_error(guarded.post("/original/lambda", json=new_lambda()), 401)


def test_on_mode_reads_for_viewers_and_writes_for_editors(guarded: TestClient) -> None:
    made = guarded.post("/lambda/tokens", json={"name": "v", "role": "viewer"}, headers=AUTH)
    assert made.status_code == 201, made.text
    viewer = {"Authorization": f"Bearer {made.json()['secret']}"}
    assert guarded.get("/original/lambda/list", headers=viewer).status_code == 200
    assert_error(guarded.post("/original/lambda", json=new_lambda(), headers=viewer), 403)
    made_key = guarded.post("/original/lambda", json=new_lambda(), headers=AUTH)
    assert made_key.status_code == 200, made_key.text
