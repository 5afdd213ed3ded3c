"""Store outages (503, nothing lost) and recovery of work a dead process left behind."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pymongo.database import Database

from api.app import create_app
from engine.catalog import BUILTIN_VERSIONS
from engine.embedded import run_ferretdb, store_uri
from engine.net import free_port
from engine.settings import Settings
from tests.fixtures.api import (
    AUTH,
    LOCAL_URL,
    NODE_CODE,
    create,
    error_code,
    wait_operation,
)
from tests.fixtures.fake_target import FakeTarget

Db = Database[dict[str, Any]]
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def test_store_down_at_startup_answers_503(tmp_path: Path) -> None:
    settings = Settings(
        mongodb_uri=f"mongodb://127.0.0.1:{free_port()}/",
        data_dir=tmp_path,
        store_timeout_ms=200,
    )
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        for method, path, kwargs in [
            ("GET", "/lambda/list", {}),
            ("GET", "/lambda/runtimes", {}),
            ("POST", "/lambda", {"json": {"name": "x", "file": NODE_CODE}}),
        ]:
            response = client.request(method, path, **kwargs)
            assert response.status_code == 503, response.text
            assert error_code(response) == "store_unavailable"
            assert response.headers["retry-after"] == "1"


def test_outage_while_running_is_503_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "ferretdb"
    settings = Settings(
        mongodb_uri=store_uri(data),
        database="outage",
        data_dir=tmp_path,
        store_timeout_ms=300,
        store_heartbeat_timeout_ms=300,  # a FerretDB still starting is given up on quickly
    )
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        with run_ferretdb(data):
            # the app started before the store: it becomes ready once the store is up
            _wait_ready(client)
            body = create(client)
            key = body["function"]["key"]
            wait_operation(client, body["operation"]["id"])
        for method, path, kwargs in [
            ("GET", "/lambda", {"params": {"key": key}}),
            ("POST", "/lambda", {"json": {"name": "lost", "file": NODE_CODE}}),
            ("PATCH", "/lambda", {"json": {"key": key, "memory_mb": 256}}),
            ("DELETE", "/lambda", {"params": {"key": key}}),
        ]:
            response = client.request(method, path, **kwargs)
            assert response.status_code == 503, response.text
            assert error_code(response) == "store_unavailable"
        with run_ferretdb(data):
            _wait_ready(client)  # the driver reconnects by itself: no restart of the app
            fn = client.get("/lambda", params={"key": key}).json()
            assert fn["status"]["phase"] == "Ready" and fn["memory_mb"] == 128
            names = [f["name"] for f in client.get("/lambda/list").json()["items"]]
            assert names == ["hello"]


def _wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 20
    while client.get("/lambda/runtimes").status_code == 503:
        assert time.monotonic() < deadline, "the app never connected to the store"
        time.sleep(0.1)


def test_recovery_resumes_and_reconciles(settings: Settings, db: Db) -> None:
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        bodies = {name: create(client, name) for name in ("resumed", "reconciled", "deleting")}
        for body in bodies.values():
            wait_operation(client, body["operation"]["id"])
    keys = {name: body["function"]["key"] for name, body in bodies.items()}
    _simulate_crash(db, keys, bodies["resumed"]["operation"]["id"])

    target = FakeTarget()
    with TestClient(
        create_app(settings, target=target), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        op_id = bodies["resumed"]["operation"]["id"]
        resumed = wait_operation(client, op_id)
        assert resumed["state"] == "succeeded" and resumed["attempts"] == 2
        notes = [p["message"] for p in resumed["progress"]]
        assert "resumed after a control-plane restart (was running)" in notes
        reconciled = client.get("/lambda/operations", params={"key": keys["reconciled"]}).json()
        assert reconciled["items"][0]["kind"] == "reconcile"
        wait_operation(client, reconciled["items"][0]["id"])
        fn = client.get("/lambda", params={"key": keys["reconciled"]}).json()
        assert fn["status"]["observed_generation"] == fn["status"]["generation"] == 2
        assert fn["status"]["phase"] == "Ready"
        deleting = client.get("/lambda/operations", params={"key": keys["deleting"]}).json()
        wait_operation(client, deleting["items"][0]["id"])
        assert client.get("/lambda", params={"key": keys["deleting"]}).status_code == 404
    assert target.calls[0] == ("recover", "")
    assert ("destroy", keys["deleting"]) in target.calls
    assert db["lambda.revision"].count_documents({"key": keys["resumed"], "revision": 7}) == 0
    assert db["lambda.code"].count_documents({"_id": "orphan"}) == 0


def _simulate_crash(db: Db, keys: dict[str, str], running_op: str) -> None:
    """What a process killed at various points leaves in the database."""
    db["lambda.operation"].update_one(
        {"_id": running_op}, {"$set": {"state": "running", "finished": None}}
    )
    db["lambda"].update_one(
        {"_id": keys["resumed"]},
        {"$set": {"status.phase": "Deploying", "status.observed_generation": 0}},
    )
    db["lambda"].update_one(
        {"_id": keys["reconciled"]},
        {"$set": {"status.generation": 2, "status.phase": "Pending"}},
    )
    db["lambda"].update_one(
        {"_id": keys["deleting"]},
        {"$set": {"status.generation": 2, "status.phase": "Deleting"}},
    )
    orphan_revision = db["lambda.revision"].find_one({"key": keys["resumed"]})
    assert orphan_revision is not None
    orphan_revision.update({"_id": f"{keys['resumed']}:7", "revision": 7, "created": LONG_AGO})
    db["lambda.revision"].insert_one(orphan_revision)
    db["lambda.code"].insert_one(
        {"_id": "orphan", "code": "x", "size": 1, "refs": ["nobody"], "created": LONG_AGO}
    )


def test_restarts_do_not_reseed(settings: Settings, db: Db) -> None:
    for _ in range(2):
        with TestClient(create_app(settings, target=FakeTarget()), headers=AUTH):
            pass
    assert db["lambda.runtime"].count_documents({}) == len(BUILTIN_VERSIONS)
    assert db["lambda.default"].count_documents({}) == 1


def test_recovery_cancels_work_left_for_a_deleted_function(settings: Settings, db: Db) -> None:
    """An update still queued for a function that is deleted (a crash, another writer) must
    not deploy it again: the runner skips it and records why."""
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        key = create(client)["function"]["key"]
        client.delete("/lambda", params={"key": key, "wait": "true"})
        fn = client.get("/lambda", params={"key": key, "include_deleted": "true"}).json()
    stale = {
        "_id": "stale-update",
        "key": key,
        "kind": "update",
        "state": "queued",
        "revision": fn["revision"],
        "generation": fn["status"]["generation"] + 1,
        "created": datetime.now(UTC),
        "started": None,
        "finished": None,
        "attempts": 0,
        "error": None,
        "progress": [],
    }
    db["lambda.operation"].insert_one(stale)
    target = FakeTarget()
    with TestClient(
        create_app(settings, target=target), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        op = wait_operation(client, "stale-update")
        assert op["state"] == "failed" and op["error"]["code"] == "operation_cancelled"
        after = client.get("/lambda", params={"key": key, "include_deleted": "true"}).json()
        assert after["disabled"] is True and after["status"]["phase"] == "Deleted"
    assert target.kinds(key) == []


def test_recovery_sweeps_only_old_orphan_revisions(settings: Settings, db: Db) -> None:
    """An orphan revision may be one another writer is about to commit: only those older than
    the grace period are swept."""
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        key = create(client)["function"]["key"]
    first = db["lambda.revision"].find_one({"key": key, "revision": 1})
    assert first is not None
    young = {**first, "_id": f"{key}:2", "revision": 2, "created": datetime.now(UTC)}
    old = {**first, "_id": f"{key}:3", "revision": 3, "created": LONG_AGO}
    db["lambda.revision"].insert_many([young, old])
    with TestClient(
        create_app(settings, target=FakeTarget()), base_url=LOCAL_URL, headers=AUTH
    ) as client:
        assert client.get("/lambda/runtimes").status_code == 200  # recovery has run
    assert db["lambda.revision"].count_documents({"_id": f"{key}:2"}) == 1
    assert db["lambda.revision"].count_documents({"_id": f"{key}:3"}) == 0
