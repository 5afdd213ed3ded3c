"""PATCH /lambda: updates, no-op updates, stale revisions and previews."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo.database import Database

from engine.errors import StoreUnavailable, TargetError
from tests.fixtures.api import NODE_CODE, counts, create, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]
NEW_CODE = NODE_CODE.replace("true", "false")


def ready(client: TestClient, name: str = "hello", **fields: Any) -> dict[str, Any]:
    body = create(client, name, **fields)
    assert wait_operation(client, body["operation"]["id"])["state"] == "succeeded"
    fn: dict[str, Any] = body["function"]
    return fn


def test_update_creates_a_revision_and_applies_it(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    key = ready(client)["key"]
    response = client.patch("/lambda", json={"key": key, "file": NEW_CODE, "name": "renamed"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["changed"] is True and body["operation"]["kind"] == "update"
    assert response.headers["location"] == body["operation"]["url"]
    assert body["function"]["revision"] == 2 and body["function"]["name"] == "renamed"
    assert wait_operation(client, body["operation"]["id"])["state"] == "succeeded"
    assert target.applied[key].code == NEW_CODE and target.applied[key].name == "renamed"
    fn = client.get("/lambda", params={"key": key}).json()
    assert fn["status"]["generation"] == fn["status"]["observed_generation"] == 2
    assert fn["status"]["phase"] == "Ready" and fn["file"] == NEW_CODE
    revisions = client.get("/lambda/revisions", params={"key": key}).json()
    assert [r["revision"] for r in revisions["items"]] == [2, 1]
    assert revisions["items"][1]["name"] == "hello"
    assert db["lambda.code"].count_documents({}) == 2


def test_unchanged_update_answers_200_and_queues_nothing(client: TestClient, db: Db) -> None:
    key = ready(client)["key"]
    before = counts(db)
    response = client.patch("/lambda", json={"key": key, "file": NODE_CODE, "runtime": "node"})
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is False and response.json()["operation"] is None
    assert counts(db) == before


def test_multipart_update(client: TestClient) -> None:
    key = ready(client)["key"]
    response = client.patch(
        "/lambda",
        data={"key": key},
        files={"file": ("handler.mjs", NEW_CODE.encode(), "text/plain")},
    )
    assert response.status_code == 202, response.text
    assert response.json()["function"]["code"]["size"] == len(NEW_CODE)


def test_stale_base_revision_is_409_and_writes_nothing(client: TestClient, db: Db) -> None:
    key = ready(client)["key"]
    client.patch("/lambda", json={"key": key, "memory_mb": 256})
    before = counts(db)
    response = client.patch("/lambda", json={"key": key, "memory_mb": 512, "base_revision": 1})
    assert response.status_code == 409
    assert error_code(response) == "stale_revision"
    assert response.json()["error"]["detail"] == {"expected_revision": 1, "current_revision": 2}
    assert counts(db) == before
    ok = client.patch("/lambda", json={"key": key, "memory_mb": 512, "base_revision": 2})
    assert ok.status_code == 202


def test_preview_shows_changes_and_changes_nothing(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    key = ready(client, env={"SECRET": "one"})["key"]
    before = counts(db)
    snapshot = db["lambda"].find_one({"_id": key})
    response = client.patch(
        "/lambda",
        params={"preview": "true"},
        json={"key": key, "file": NEW_CODE, "runtime": "python", "env": {"SECRET": "two"}},
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    paths = {f["path"] for f in plan["fields"]}
    assert {"code_sha256", "runtime", "version", "image", "env.SECRET"} <= paths
    secret = next(f for f in plan["fields"] if f["path"] == "env.SECRET")
    assert secret["old"] == secret["new"] == "[secret]"
    assert plan["changed"] is True
    assert plan["resources"][0]["op"] == "update" and plan["summary"] == {"update": 1}
    assert target.previews[-1][1].runtime == "python"
    assert counts(db) == before
    assert db["lambda"].find_one({"_id": key}) == snapshot


def test_preview_of_no_change(client: TestClient) -> None:
    key = ready(client)["key"]
    response = client.patch("/lambda", params={"preview": "true"}, json={"key": key})
    assert response.status_code == 200
    assert response.json() == {"changed": False, "fields": [], "resources": [], "summary": {}}


def test_runtime_change_moves_a_default_handler(client: TestClient) -> None:
    key = ready(client)["key"]
    body = client.patch(
        "/lambda", json={"key": key, "runtime": "python", "file": "def handler():\n  pass\n"}
    ).json()
    fn = body["function"]
    assert (fn["runtime"], fn["version"], fn["handler"]) == ("python", "3.12", "handler.handler")
    assert fn["image"] == "lambdaclone/runtime-python:3.12"


def test_update_unknown_key_is_404(client: TestClient) -> None:
    response = client.patch("/lambda", json={"key": "a" * 26, "memory_mb": 256})
    assert response.status_code == 404
    assert error_code(response) == "function_not_found"
    assert response.json()["error"]["detail"] == {"key": "a" * 26}


def test_update_rejections_write_nothing(client: TestClient, db: Db) -> None:
    key = ready(client)["key"]
    before = counts(db)
    for body, code in [
        ({"key": key, "name": "UPPER"}, "invalid_name"),
        ({"key": key, "runtime": "node", "version": "99"}, "unknown_runtime"),
        ({"key": key, "memory_mb": 1_000_000}, "invalid_limit"),
        ({"key": key, "env": {"LAMBDA_TASK_ROOT": "/"}}, "reserved_env"),
        ({"memory_mb": 256}, "invalid_request"),
    ]:
        response = client.patch("/lambda", json=body)
        assert response.status_code == 422, response.text
        assert error_code(response) == code
    assert counts(db) == before


def test_updates_queue_behind_each_other(client: TestClient, target: FakeTarget) -> None:
    key = ready(client)["key"]
    ids = [
        client.patch("/lambda", json={"key": key, "memory_mb": mb}).json()["operation"]["id"]
        for mb in (256, 512, 1024)
    ]
    ops = [wait_operation(client, op_id) for op_id in ids]
    assert [op["state"] for op in ops] == ["succeeded"] * 3
    assert ops[0]["finished"] <= ops[1]["started"] and ops[1]["finished"] <= ops[2]["started"]
    assert target.applied[key].limits.memory_mb == 1024
    fn = client.get("/lambda", params={"key": key}).json()
    assert fn["status"]["observed_generation"] == fn["status"]["generation"] == 4
    assert fn["status"]["phase"] == "Ready"


def test_an_outage_after_the_revision_write_does_not_block_later_updates(
    client: TestClient, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store failing between the revision and the function write leaves revision N+1
    orphaned; the next update replaces it instead of answering 409 until a restart."""
    key = ready(client)["key"]
    functions = cast(FastAPI, client.app).state.platform.store.functions

    async def outage(*args: object, **kwargs: object) -> bool:
        raise StoreUnavailable("MongoDB is unavailable (updating a function): AutoReconnect")

    monkeypatch.setattr(functions, "commit_revision", outage)
    failed = client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert failed.status_code == 503 and error_code(failed) == "store_unavailable"
    assert db["lambda.revision"].count_documents({"key": key}) == 2  # the orphan
    monkeypatch.undo()
    response = client.patch("/lambda", json={"key": key, "memory_mb": 512})
    assert response.status_code == 202, response.text
    assert wait_operation(client, response.json()["operation"]["id"])["state"] == "succeeded"
    fn = client.get("/lambda", params={"key": key}).json()
    assert (fn["revision"], fn["memory_mb"], fn["status"]["phase"]) == (2, 512, "Ready")
    revisions = client.get("/lambda/revisions", params={"key": key}).json()["items"]
    assert [(r["revision"], r["memory_mb"]) for r in revisions] == [(2, 512), (1, 128)]


def test_an_orphan_revision_is_not_part_of_the_history(
    client: TestClient, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ready(client)["key"]
    functions = cast(FastAPI, client.app).state.platform.store.functions

    async def outage(*args: object, **kwargs: object) -> bool:
        raise StoreUnavailable("MongoDB is unavailable (updating a function): AutoReconnect")

    monkeypatch.setattr(functions, "commit_revision", outage)
    client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert db["lambda.revision"].count_documents({"key": key}) == 2
    revisions = client.get("/lambda/revisions", params={"key": key}).json()
    assert [r["revision"] for r in revisions["items"]] == [1] and revisions["next_cursor"] is None


def test_an_unchanged_update_retries_a_failed_deployment(
    client: TestClient, target: FakeTarget
) -> None:
    target.fail_with = TargetError("the cluster was full")
    failed = create(client)
    assert wait_operation(client, failed["operation"]["id"])["state"] == "failed"
    key = failed["function"]["key"]
    target.fail_with = None
    response = client.patch("/lambda", json={"key": key})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["changed"] is True and body["operation"]["kind"] == "reconcile"
    assert body["function"]["revision"] == 1 and body["function"]["status"]["phase"] != "Failed"
    assert wait_operation(client, body["operation"]["id"])["state"] == "succeeded"
    fn = client.get("/lambda", params={"key": key}).json()
    assert fn["status"]["phase"] == "Ready" and fn["status"]["last_error"] is None
    assert fn["status"]["observed_generation"] == fn["status"]["generation"]
    assert target.kinds(key) == ["apply", "apply"]
    again = client.patch("/lambda", json={"key": key})
    assert again.status_code == 200 and again.json()["changed"] is False


def test_an_unchanged_update_with_wait_retries_a_failed_update(
    client: TestClient, target: FakeTarget
) -> None:
    key = ready(client)["key"]
    target.fail_with = TargetError("quota")
    failed = client.patch("/lambda", params={"wait": "true"}, json={"key": key, "memory_mb": 256})
    assert failed.status_code == 502, failed.text
    target.fail_with = None
    retry = client.patch("/lambda", params={"wait": "true"}, json={"key": key, "memory_mb": 256})
    assert retry.status_code == 200, retry.text
    assert retry.json()["operation"]["kind"] == "reconcile"
    assert retry.json()["function"]["status"]["phase"] == "Ready"
    assert target.applied[key].limits.memory_mb == 256


def test_an_unchanged_update_while_work_is_queued_adds_none(
    client: TestClient, target: FakeTarget, db: Db
) -> None:
    key = ready(client)["key"]
    target.gate = threading.Event()
    target.entered.clear()
    client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert target.entered.wait(5)
    before = counts(db)
    response = client.patch("/lambda", json={"key": key})
    assert response.status_code == 200 and response.json()["changed"] is False
    assert counts(db) == before
    target.gate.set()
