"""DELETE /lambda, GET /lambda, GET /lambda/list (pagination, filters) and 404s."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from api.pagination import encode_cursor
from engine.errors import TargetError
from tests.fixtures.api import counts, create, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]


def test_delete_destroys_then_marks_deleted(client: TestClient, target: FakeTarget) -> None:
    created = create(client)
    key = created["function"]["key"]
    wait_operation(client, created["operation"]["id"])  # else a queued create is cancelled
    response = client.delete("/lambda", params={"key": key})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (
        body["operation"]["kind"] == "delete" and body["function"]["status"]["phase"] == "Deleting"
    )
    assert wait_operation(client, body["operation"]["id"])["state"] == "succeeded"
    assert target.kinds(key) == ["apply", "destroy"]
    assert client.get("/lambda", params={"key": key}).status_code == 404
    gone = client.get("/lambda", params={"key": key, "include_deleted": "true"}).json()
    assert gone["disabled"] is True and gone["status"]["phase"] == "Deleted"
    assert key not in [f["key"] for f in client.get("/lambda/list").json()["items"]]


def test_delete_is_idempotent(client: TestClient, target: FakeTarget, db: Db) -> None:
    key = create(client)["function"]["key"]
    first = client.delete("/lambda", params={"key": key, "wait": "true"})
    assert first.status_code == 200, first.text
    assert first.json()["operation"]["state"] == "succeeded"
    before = counts(db)
    again = client.delete("/lambda", params={"key": key})
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["operation"]["id"] == first.json()["operation"]["id"]
    assert counts(db) == before
    assert target.kinds(key).count("destroy") == 1


def test_delete_while_deleting_does_no_new_work(client: TestClient, target: FakeTarget) -> None:
    key = create(client)["function"]["key"]
    target.gate = threading.Event()
    first = client.delete("/lambda", params={"key": key}).json()
    second = client.delete("/lambda", params={"key": key})
    assert second.status_code == 202 and second.json()["changed"] is False
    assert second.json()["operation"]["id"] == first["operation"]["id"]
    blocked = client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert blocked.status_code == 409 and error_code(blocked) == "function_deleting"
    target.gate.set()
    assert wait_operation(client, first["operation"]["id"])["state"] == "succeeded"


def test_failed_delete_keeps_the_function(client: TestClient, target: FakeTarget) -> None:
    key = create(client)["function"]["key"]
    target.fail_with = TargetError("cannot reach the cluster")
    response = client.delete("/lambda", params={"key": key, "wait": "true"})
    assert response.status_code == 502 and error_code(response) == "target_error"
    fn = client.get("/lambda", params={"key": key}).json()
    assert fn["disabled"] is False and fn["status"]["phase"] == "Failed"
    target.fail_with = None
    retry = client.delete("/lambda", params={"key": key, "wait": "true"})
    assert retry.status_code == 200 and retry.json()["function"]["disabled"] is True


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/lambda", {"key": "b" * 26}),
        ("GET", "/lambda", {"key": "not-a-key"}),
        ("DELETE", "/lambda", {"key": "b" * 26}),
        ("GET", "/lambda/revisions", {"key": "b" * 26}),
        ("GET", "/lambda/operations", {"key": "b" * 26}),
    ],
)
def test_unknown_keys_are_404(
    client: TestClient, method: str, path: str, params: dict[str, str]
) -> None:
    response = client.request(method, path, params=params)
    assert response.status_code == 404
    assert error_code(response) == "function_not_found"


def test_missing_key_is_invalid_request(client: TestClient) -> None:
    response = client.get("/lambda")
    assert response.status_code == 422 and error_code(response) == "invalid_request"
    assert response.json()["error"]["message"] == "key: Field required"


def test_get_without_code(client: TestClient) -> None:
    key = create(client)["function"]["key"]
    body = client.get("/lambda", params={"key": key, "code": "false"}).json()
    assert body["file"] is None and body["code"]["size"] > 0


def test_list_pages_through_everything_in_creation_order(client: TestClient) -> None:
    names = [f"fn-{n:02d}" for n in range(7)]
    for name in names:
        create(client, name)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/lambda/list", params=params).json()
        seen += [f["name"] for f in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names and pages == 3


def test_list_filters(client: TestClient) -> None:
    create(client, "alpha-one")
    create(client, "alpha-two")
    create(client, "beta", runtime="python", version="3.12")
    by_name = client.get("/lambda/list", params={"name": "alpha"}).json()["items"]
    assert sorted(f["name"] for f in by_name) == ["alpha-one", "alpha-two"]
    by_runtime = client.get("/lambda/list", params={"runtime": "python"}).json()["items"]
    assert [f["name"] for f in by_runtime] == ["beta"]
    assert client.get("/lambda/list", params={"name": ".*"}).json()["items"] == []


def test_list_by_phase(client: TestClient, target: FakeTarget) -> None:
    target.fail_with = TargetError("no")
    op = create(client, "broken")["operation"]["id"]
    wait_operation(client, op)
    failed = client.get("/lambda/list", params={"phase": "Failed"}).json()["items"]
    assert [f["name"] for f in failed] == ["broken"]
    assert client.get("/lambda/list", params={"phase": "Ready"}).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 101}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"cursor": "garbage!"}, "invalid_cursor"),
        ({"cursor": "WzFd"}, "invalid_cursor"),
        ({"phase": "Sleeping"}, "invalid_request"),
    ],
)
def test_list_rejects_bad_parameters(client: TestClient, params: dict[str, Any], code: str) -> None:
    response = client.get("/lambda/list", params=params)
    assert response.status_code == 422
    assert error_code(response) == code


def test_revisions_paginate(client: TestClient) -> None:
    key = create(client)["function"]["key"]
    for mb in (256, 512, 1024):
        client.patch("/lambda", json={"key": key, "memory_mb": mb})
    first = client.get("/lambda/revisions", params={"key": key, "limit": 3}).json()
    assert [r["revision"] for r in first["items"]] == [4, 3, 2]
    rest = client.get(
        "/lambda/revisions", params={"key": key, "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [r["revision"] for r in rest["items"]] == [1] and rest["next_cursor"] is None
    assert rest["items"][0]["memory_mb"] == 128


def test_unknown_route_has_the_error_shape(client: TestClient) -> None:
    response = client.get("/lambda/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    wrong = client.put("/lambda/list")
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"


def test_updates_racing_a_delete_never_bring_the_function_back(
    client: TestClient, target: FakeTarget
) -> None:
    """PATCH, PATCH, DELETE without waiting: the earlier updates starting or finishing must not
    move the function out of Deleting (which let a later PATCH in, deployed after the delete)."""
    created = create(client)
    key = created["function"]["key"]
    wait_operation(client, created["operation"]["id"])
    target.gate = threading.Event()
    target.entered.clear()
    running = client.patch("/lambda", json={"key": key, "memory_mb": 256}).json()["operation"]
    assert target.entered.wait(5)
    queued = client.patch("/lambda", json={"key": key, "memory_mb": 512}).json()["operation"]
    delete = client.delete("/lambda", params={"key": key}).json()["operation"]
    first_gate, target.gate = target.gate, threading.Event()
    target.entered.clear()
    first_gate.set()  # the running update finishes; what runs next blocks on the new gate
    assert target.entered.wait(5)
    assert _phase(client, key) == "Deleting"
    late = client.patch("/lambda", json={"key": key, "memory_mb": 1024})
    assert late.status_code == 409, late.text
    assert error_code(late) == "function_deleting"
    target.gate.set()
    assert wait_operation(client, delete["id"])["state"] == "succeeded"
    assert _phase(client, key) == "Deleted"
    late = client.patch("/lambda", json={"key": key, "memory_mb": 1024})
    assert late.status_code == 404 and error_code(late) == "function_not_found"
    assert wait_operation(client, running["id"])["state"] == "succeeded"
    skipped = wait_operation(client, queued["id"])
    assert skipped["state"] == "failed" and skipped["error"]["code"] == "operation_cancelled"
    assert target.kinds(key) == ["apply", "apply", "destroy"]
    assert key not in target.applied
    gone = client.get("/lambda", params={"key": key, "include_deleted": "true"}).json()
    assert gone["disabled"] is True and gone["status"]["phase"] == "Deleted"
    ops = client.get("/lambda/operations", params={"key": key}).json()["items"]
    assert [op["kind"] for op in ops] == ["delete", "update", "update", "create"]


def _phase(client: TestClient, key: str) -> str:
    fn = client.get("/lambda", params={"key": key, "include_deleted": "true"}).json()
    phase: str = fn["status"]["phase"]
    return phase


def test_a_waited_update_cancelled_by_a_delete_answers_409(
    client: TestClient, target: FakeTarget
) -> None:
    key = create(client)["function"]["key"]
    target.gate = threading.Event()
    target.entered.clear()
    client.patch("/lambda", json={"key": key, "memory_mb": 256})
    assert target.entered.wait(5)
    answers: list[Any] = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            client.patch("/lambda", params={"wait": "true"}, json={"key": key, "memory_mb": 512})
        )
    )
    waiter.start()
    while len(client.get("/lambda/operations", params={"key": key}).json()["items"]) < 3:
        time.sleep(0.01)
    client.delete("/lambda", params={"key": key})
    target.gate.set()
    waiter.join(10)
    (answer,) = answers
    assert answer.status_code == 409, answer.text
    assert error_code(answer) == "operation_cancelled"
    assert "deleted" in answer.json()["error"]["message"]


@pytest.mark.parametrize("position", [2**63, -1, 10**30])
def test_revision_cursors_out_of_range_are_422(client: TestClient, position: int) -> None:
    key = create(client)["function"]["key"]
    cursor = encode_cursor(position)
    response = client.get("/lambda/revisions", params={"key": key, "cursor": cursor})
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_cursor"
    largest = client.get(
        "/lambda/revisions", params={"key": key, "cursor": encode_cursor(2**63 - 1)}
    )
    assert [r["revision"] for r in largest.json()["items"]] == [1]
