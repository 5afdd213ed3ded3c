"""The real API on the Kubernetes target: create → Ready with the cluster objects in place, a
previewed code change, the update, and a delete that leaves nothing (MongoDB-wire store too)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.kubernetes.layout import PulumiLayout
from engine.settings import Settings
from tests.fixtures.api import AUTH
from tests.fixtures.k8s_cluster import Cluster, wait_for

pytestmark = pytest.mark.cluster

CODE = "def handler(event, context):\n    return {'v': 1}\n"
OPERATION_TIMEOUT_S = 240


@pytest.fixture
def api_settings(settings: Settings, mongo_uri: str, mongo_db_name: str) -> Settings:
    update = {"mongodb_uri": mongo_uri, "database": mongo_db_name, "allowed_hosts": ("testserver",)}
    return settings.model_copy(update=update)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings), headers=AUTH) as test_client:
        yield test_client


def wait_operation(client: TestClient, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + OPERATION_TIMEOUT_S
    while True:
        op: dict[str, Any] = client.get(f"/lambda/operations/{operation_id}").json()
        if op["state"] in {"succeeded", "failed"}:
            return op
        assert time.monotonic() < deadline, f"operation still {op['state']}: {op}"
        time.sleep(0.2)


def test_api_create_preview_update_delete(
    client: TestClient, cluster: Cluster, api_settings: Settings
) -> None:
    body = {"name": "api-fn", "file": CODE, "runtime": "python", "version": "3.12"}
    created = client.post("/lambda", json=body)
    assert created.status_code == 202, created.text
    key = created.json()["function"]["key"]
    done = wait_operation(client, created.json()["operation"]["id"])
    assert done["state"] == "succeeded", (done.get("error"), done["progress"][-15:])
    assert any(p["message"].startswith("creating Deployment") for p in done["progress"])
    assert cluster.is_available(key)
    assert cluster.service(key).spec.type == "NodePort"
    (rule,) = cluster.ingress(key).spec.rules
    assert rule.http.paths[0].path == f"/endpoint/{key}"
    assert rule.http.paths[0].backend.service.name == cluster.service(key).metadata.name

    unchanged = client.patch("/lambda", json={"key": key, "file": CODE})
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["changed"] is False

    before = {rs.metadata.name for rs in cluster.replica_sets(key)}
    new_code = CODE.replace("1", "2")
    plan = client.patch("/lambda", params={"preview": "true"}, json={"key": key, "file": new_code})
    assert plan.status_code == 200, plan.text
    ops = {(r["name"], r["op"]) for r in plan.json()["resources"]}
    assert {("code", "update"), ("deployment", "update")} <= ops

    updated = client.patch("/lambda", json={"key": key, "file": new_code})
    assert updated.status_code == 202, updated.text
    assert wait_operation(client, updated.json()["operation"]["id"])["state"] == "succeeded"
    assert cluster.configmap(key).data == {"handler.py": new_code}
    rolled = {rs.metadata.name for rs in cluster.replica_sets(key)} - before
    assert rolled, "the code change did not roll the pods (no new ReplicaSet)"

    deleted = client.delete("/lambda", params={"key": key})
    assert deleted.status_code == 202, deleted.text
    assert wait_operation(client, deleted.json()["operation"]["id"])["state"] == "succeeded"
    assert not PulumiLayout.from_settings(api_settings).workspace(key).exists()
    wait_for(lambda: not cluster.objects_of(key), 60, f"no objects of {key}")
