"""The catalog routes (default, runtimes, setup) and the operation routes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pymongo.database import Database

from engine.catalog import BUILTIN_VERSIONS, read_default_code
from tests.fixtures.api import create, error_code, wait_operation

Db = Database[dict[str, Any]]
BUILTIN = sorted(BUILTIN_VERSIONS)
"""Every runtime the catalog ships, as (runtime, version), sorted as the routes list them."""


def test_empty_database_is_seeded_at_startup(client: TestClient, db: Db) -> None:
    ids = sorted(doc["_id"] for doc in db["lambda.runtime"].find())
    assert ids == [f"{runtime}:{version}" for runtime, version in BUILTIN]
    assert {"golang:1.22", "node:20", "python:3.12"} <= set(ids)
    default = db["lambda.default"].find_one()
    assert default is not None and (default["runtime"], default["version"]) == ("node", "20")
    for doc in db["lambda.runtime"].find():
        assert {
            "image",
            "default_code",
            "run_command",
            "disabled",
            "reg_date",
            "update_date",
        } <= set(doc)


def test_runtimes_lists_each_with_default_code(client: TestClient) -> None:
    items = client.get("/lambda/runtimes").json()["items"]
    assert [(r["runtime"], r["version"]) for r in items] == BUILTIN
    python = next(r for r in items if r["runtime"] == "python")
    assert python["default_code"] == read_default_code("python")
    assert python["image"] == "lambdaclone/runtime-python:3.12"
    assert python["default_handler"] == "handler.handler"


def test_default_is_node_20_with_its_code(client: TestClient) -> None:
    body = client.get("/lambda/default").json()
    assert (body["runtime"], body["version"], body["handler"]) == ("node", "20", "handler.handler")
    assert body["code"] == read_default_code("node")
    assert body["memory_mb"] == 128


def test_setup_is_idempotent(client: TestClient, db: Db) -> None:
    first = client.post("/lambda/setup").json()
    assert (first["inserted"], first["updated"]) == (0, 0)  # seeded at start-up already
    db["lambda.runtime"].delete_one({"_id": "golang:1.22"})
    db["lambda.runtime"].update_one({"_id": "node:20"}, {"$set": {"image": "old"}})
    plan = client.get("/lambda/setup").json()  # a GET only tells, and writes nothing
    assert (plan["missing"], plan["outdated"]) == (["golang:1.22"], ["node:20"])
    assert db["lambda.runtime"].count_documents({}) == len(BUILTIN) - 1
    again = client.post("/lambda/setup").json()
    assert (again["inserted"], again["updated"]) == (1, 1)
    assert client.post("/lambda/setup").json()["inserted"] == 0
    assert client.get("/lambda/setup").json()["missing"] == []
    assert db["lambda.runtime"].count_documents({}) == len(BUILTIN)
    assert db["lambda.default"].count_documents({}) == 1


def test_setup_keeps_an_operators_disabled_flag(client: TestClient, db: Db) -> None:
    db["lambda.runtime"].update_one({"_id": "golang:1.22"}, {"$set": {"disabled": True}})
    client.post("/lambda/setup")
    listed = [r["runtime"] for r in client.get("/lambda/runtimes").json()["items"]]
    assert listed == [runtime for runtime, _ in BUILTIN if runtime != "golang"]
    body = {"name": "go", "file": "package main\n", "runtime": "golang", "version": "1.22"}
    response = client.post("/lambda", json=body)
    assert response.status_code == 422 and error_code(response) == "unknown_runtime"


def test_operation_routes(client: TestClient) -> None:
    body = create(client)
    op_id, key = body["operation"]["id"], body["function"]["key"]
    wait_operation(client, op_id)
    by_path = client.get(f"/lambda/operations/{op_id}").json()
    by_query = client.get("/lambda/operation", params={"id": op_id}).json()
    assert by_path == by_query
    assert by_path["attempts"] == 1 and by_path["started"] and by_path["finished"]
    assert by_path["progress"][0]["message"] == "create started (attempt 1)"
    client.patch("/lambda", json={"key": key, "memory_mb": 256})
    listed = client.get("/lambda/operations", params={"key": key}).json()["items"]
    assert [op["kind"] for op in listed] == ["update", "create"]


def test_unknown_operation_is_404(client: TestClient) -> None:
    response = client.get("/lambda/operations/nope")
    assert response.status_code == 404 and error_code(response) == "operation_not_found"
    response = client.get("/lambda/operation", params={"id": "nope"})
    assert response.status_code == 404 and error_code(response) == "operation_not_found"
