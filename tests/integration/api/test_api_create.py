"""POST /lambda through the real app and MongoDB-wire server, with a fake target."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from engine.errors import TargetError
from engine.keys import is_key
from tests.fixtures.api import NODE_CODE, counts, create, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]


def test_create_answers_202_and_the_operation_succeeds(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    body = create(client, "hello", env={"GREETING": "hi"}, memory_mb=256)
    fn, op = body["function"], body["operation"]
    assert is_key(fn["key"])
    assert fn["endpoint"] == f"http://lambda.test/endpoint/{fn['key']}"
    assert fn["revision"] == 1 and fn["memory_mb"] == 256 and fn["env"] == {"GREETING": "hi"}
    assert fn["handler"] == "handler.handler"
    assert fn["image"] == "lambdaclone/runtime-node:20"
    assert fn["code"]["location"].startswith("mongo://lambda.code/")
    assert op["kind"] == "create" and op["url"] == f"/lambda/operations/{op['id']}"
    done = wait_operation(client, op["id"])
    assert done["state"] == "succeeded", done
    assert [p["message"] for p in done["progress"]][1:] == [
        "apply step 0",
        "apply step 1",
        "apply step 2",
    ]
    assert target.applied[fn["key"]].code == NODE_CODE
    got = client.get("/lambda", params={"key": fn["key"]}).json()
    assert got["status"]["phase"] == "Ready"
    assert got["status"]["observed_generation"] == got["status"]["generation"] == 1
    assert got["file"] == NODE_CODE
    assert counts(db) == {
        "lambda": 1,
        "lambda.revision": 1,
        "lambda.code": 1,
        "lambda.operation": 1,
        "lambda.idempotency": 0,
    }


def test_create_sets_location_header(client: TestClient) -> None:
    body = {"name": "loc", "file": NODE_CODE, "runtime": "node", "version": "20"}
    response = client.post("/lambda", json=body)
    assert response.status_code == 202
    assert (
        response.headers["location"] == f"/lambda/operations/{response.json()['operation']['id']}"
    )


def test_create_with_wait_answers_200_when_ready(client: TestClient) -> None:
    body = {"name": "waited", "code": NODE_CODE}
    response = client.post("/lambda", json=body, params={"wait": "true"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["operation"]["state"] == "succeeded"
    assert result["function"]["status"]["phase"] == "Ready"
    assert (result["function"]["runtime"], result["function"]["version"]) == ("node", "20")


def test_create_with_wait_answers_the_failure(client: TestClient, target: FakeTarget) -> None:
    target.fail_with = TargetError("the cluster said no", detail={"why": "quota"})
    body = {"name": "doomed", "file": NODE_CODE}
    response = client.post("/lambda", json=body, params={"wait": "true"})
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "target_error"
    assert error["detail"]["why"] == "quota"
    op = wait_operation(client, error["detail"]["operation"])
    assert op["state"] == "failed" and op["error"]["code"] == "target_error"
    fn = client.get("/lambda", params={"key": op["key"]}).json()
    assert fn["status"]["phase"] == "Failed"
    assert fn["status"]["last_error"]["message"] == "the cluster said no"


def test_create_failure_is_recorded(client: TestClient, target: FakeTarget) -> None:
    target.fail_with = TargetError("boom")
    op = wait_operation(client, create(client)["operation"]["id"])
    assert op["state"] == "failed"
    assert op["error"] == {"code": "target_error", "message": "boom", "detail": {}}


def test_multipart_upload_like_the_original_client(client: TestClient) -> None:
    response = client.post(
        "/lambda",
        data={"name": "uploaded", "runtime": "python", "version": "3.12", "env": '{"A": "1"}'},
        files={"file": ("handler.py", b"def handler():\n    return 'hi'\n", "text/x-python")},
    )
    assert response.status_code == 202, response.text
    fn = response.json()["function"]
    assert (fn["runtime"], fn["env"]) == ("python", {"A": "1"})
    got = client.get("/lambda", params={"key": fn["key"]}).json()
    assert got["file"] == "def handler():\n    return 'hi'\n"


def test_idempotent_create_replays_the_original(client: TestClient, db: Db) -> None:
    body = {"name": "once", "file": NODE_CODE}
    headers = {"Idempotency-Key": "req-123"}
    first = client.post("/lambda", json=body, headers=headers)
    second = client.post("/lambda", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["function"]["key"] == second.json()["function"]["key"]
    assert first.json()["operation"]["id"] == second.json()["operation"]["id"]
    assert db["lambda"].count_documents({}) == 1
    assert db["lambda.operation"].count_documents({}) == 1


def test_idempotency_key_with_another_body_is_409(client: TestClient, db: Db) -> None:
    headers = {"Idempotency-Key": "req-456"}
    first = client.post("/lambda", json={"name": "one", "file": NODE_CODE}, headers=headers)
    before = counts(db)
    response = client.post("/lambda", json={"name": "two", "file": NODE_CODE}, headers=headers)
    assert response.status_code == 409
    assert error_code(response) == "idempotency_key_reused"
    assert response.json()["error"]["detail"] == {"idempotency_key": "req-456"}
    assert first.json()["function"]["key"] not in response.text, "another caller's key leaked"
    assert counts(db) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Bad_Name", "file": NODE_CODE}, 422, "invalid_name"),
        ({"name": "x" * 64, "file": NODE_CODE}, 422, "invalid_name"),
        ({"name": "ok", "file": "   "}, 422, "empty_code"),
        ({"name": "ok"}, 422, "missing_field"),
        ({"name": "ok", "file": "x" * 5000}, 413, "code_too_large"),
        (
            {"name": "ok", "file": NODE_CODE, "runtime": "cobol", "version": "1"},
            422,
            "unknown_runtime",
        ),
        (
            {"name": "ok", "file": NODE_CODE, "runtime": "node", "version": "4"},
            422,
            "unknown_runtime",
        ),
        ({"name": "ok", "file": NODE_CODE, "version": "20"}, 422, "missing_field"),
        ({"name": "ok", "file": NODE_CODE, "handler": "nodot"}, 422, "invalid_handler"),
        ({"name": "ok", "file": NODE_CODE, "env": {"1X": "v"}}, 422, "invalid_env"),
        (
            {"name": "ok", "file": NODE_CODE, "env": {"AWS_LAMBDA_FUNCTION_NAME": "v"}},
            422,
            "reserved_env",
        ),
        ({"name": "ok", "file": NODE_CODE, "env": {"lambda_x": "v"}}, 422, "reserved_env"),
        ({"name": "ok", "file": NODE_CODE, "memory_mb": 32}, 422, "invalid_limit"),
        ({"name": "ok", "file": NODE_CODE, "timeout_ms": 900_001}, 422, "invalid_limit"),
        ({"name": "ok", "file": NODE_CODE, "concurrency": 0}, 422, "invalid_limit"),
        ({"name": "ok", "file": NODE_CODE, "memory_mb": "lots"}, 422, "invalid_request"),
        ({"name": "ok", "file": NODE_CODE, "colour": "red"}, 422, "invalid_request"),
        ({"name": "ok", "file": NODE_CODE, "code": NODE_CODE}, 422, "conflicting_fields"),
        ({"name": "trail\n", "file": NODE_CODE}, 422, "invalid_name"),
        ({"name": "ok", "file": NODE_CODE, "handler": "handler.handler\n"}, 422, "invalid_handler"),
        ({"name": "ok", "file": NODE_CODE, "handler": "handler.a-b"}, 422, "invalid_handler"),
        (
            {
                "name": "ok",
                "file": "x = 1\n",
                "runtime": "python",
                "version": "3.12",
                "handler": "handler.class",
            },
            422,
            "invalid_handler",
        ),
        (
            {
                "name": "ok",
                "file": "x = 1\n",
                "runtime": "python",
                "version": "3.12",
                "handler": "handler.$x",
            },
            422,
            "invalid_handler",
        ),
        (
            {
                "name": "ok",
                "file": "package main\n",
                "runtime": "golang",
                "version": "1.22",
                "handler": "handler.func",
            },
            422,
            "invalid_handler",
        ),
        ({"name": "ok", "file": NODE_CODE, "env": {"A\n": "v"}}, 422, "invalid_env"),
        ({"name": "ok", "file": NODE_CODE, "env": {"A": "x\u0000y"}}, 422, "invalid_env"),
    ],
)
def test_rejections_write_nothing(
    client: TestClient, db: Db, body: dict[str, Any], status: int, code: str
) -> None:
    before = counts(db)
    response = client.post("/lambda", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert counts(db) == before


def test_non_utf8_upload_is_rejected(client: TestClient, db: Db) -> None:
    before = counts(db)
    response = client.post(
        "/lambda", data={"name": "bin"}, files={"file": ("x.mjs", b"\xff\xfe\x00", "text/plain")}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid_code"
    assert counts(db) == before


def test_malformed_json_is_invalid_request(client: TestClient) -> None:
    response = client.post(
        "/lambda", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


def test_replay_while_the_create_runs(client: TestClient, target: FakeTarget) -> None:
    target.gate = threading.Event()
    body = {"name": "slow", "file": NODE_CODE}
    headers = {"Idempotency-Key": "req-789"}
    first = client.post("/lambda", json=body, headers=headers).json()
    assert target.entered.wait(5)
    replay = client.post("/lambda", json=body, headers=headers).json()
    assert replay["operation"]["id"] == first["operation"]["id"]
    assert replay["operation"]["state"] == "running"
    target.gate.set()
    assert wait_operation(client, first["operation"]["id"])["state"] == "succeeded"
    assert target.kinds(first["function"]["key"]) == ["apply"]
    later = create(client, "after")
    assert wait_operation(client, later["operation"]["id"])["state"] == "succeeded"
