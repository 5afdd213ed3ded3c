"""Layers end to end: published through the real API (with auth) on FerretDB, attached to
functions that the real local target runs in sandboxed workers, which import what the layers
hold — a python module, a node_modules package — and see a later layer's file win."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.api import error_code, wait_operation
from tests.fixtures.local_api import ZIP, local_api
from tests.fixtures.packages import zip_of

PY_APP = """
import greet

def handler(event, context):
    return {"greeting": greet.GREETING, "from": greet.__file__}
"""
NODE_APP = """
const greeter = require('greeter');
exports.handler = async () => ({ statusCode: 200, body: JSON.stringify({ hi: greeter.hi() }) });
"""

NODE_ESM_APP = """
import greeter from 'greeter';
export const handler = async () => ({
  statusCode: 200, body: JSON.stringify({ hi: greeter.hi() }),
});
"""


@pytest.fixture(scope="module")
def local_client(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with local_api(mongo_uri, "t_layers_local", tmp_path_factory.mktemp("layers")) as client:
        yield client


def deploy(client: TestClient, name: str, code: str, runtime: str, layers: list[str]) -> str:
    version = {"python": "3.12", "node": "20"}[runtime]
    handler = {"python": "app.handler", "node": "index.handler"}[runtime]
    body = {
        "name": name,
        "file": code,
        "runtime": runtime,
        "version": version,
        "handler": handler,
        "layers": layers,
    }
    made = client.post("/lambda", json=body)
    assert made.status_code == 202, made.text
    op = wait_operation(client, made.json()["operation"]["id"], 60)
    assert op["state"] == "succeeded", op
    key: str = made.json()["function"]["key"]
    return key


def publish(client: TestClient, name: str, files: dict[str, str]) -> str:
    answer = client.post(
        "/lambda/layers", content=zip_of(files), headers=ZIP, params={"name": name}
    )
    assert answer.status_code == 201, answer.text
    ref: str = answer.json()["ref"]
    return ref


def invoke(client: TestClient, key: str) -> dict[str, Any]:
    answer = client.get(f"/endpoint/{key}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def detach(client: TestClient, key: str, code: str) -> None:
    """No layers, and code that needs none (a worker that cannot import its handler fails)."""
    changed = client.patch("/lambda", json={"key": key, "layers": [], "file": code})
    assert changed.status_code == 202, changed.text
    assert wait_operation(client, changed.json()["operation"]["id"], 60)["state"] == "succeeded"


def test_a_python_layer_shared_by_two_functions_and_overridden_by_a_later_one(
    local_client: TestClient,
) -> None:
    shared = publish(local_client, "py-greet", {"python/greet.py": "GREETING = 'shared'\n"})
    override = publish(local_client, "py-over", {"python/greet.py": "GREETING = 'override'\n"})
    plain = deploy(local_client, "py-one", PY_APP, "python", [shared])
    both = deploy(local_client, "py-two", PY_APP, "python", [shared, override])
    assert invoke(local_client, plain) == {"greeting": "shared", "from": "/opt/python/greet.py"}
    assert invoke(local_client, both)["greeting"] == "override"

    params = {"name": "py-greet", "version": 1}
    refused = local_client.delete("/lambda/layers/version", params=params)
    assert (refused.status_code, error_code(refused)) == (409, "layer_version_in_use")
    alone = "def handler(event, context):\n    return {'greeting': 'no layer'}\n"
    detach(local_client, plain, alone)
    still = local_client.delete("/lambda/layers/version", params=params)
    assert still.json()["error"]["detail"]["functions"] == [both]
    detach(local_client, both, alone)
    assert local_client.delete("/lambda/layers/version", params=params).status_code == 204
    assert invoke(local_client, plain) == {"greeting": "no layer"}


def test_a_node_layer_shared_by_two_functions(local_client: TestClient) -> None:
    files = {"nodejs/node_modules/greeter/index.js": "exports.hi = () => 'hi from a layer';\n"}
    ref = publish(local_client, "node-greet", files)
    first = deploy(local_client, "node-one", NODE_APP, "node", [ref])
    second = deploy(local_client, "node-two", NODE_APP, "node", [ref])
    esm = deploy(local_client, "node-esm", NODE_ESM_APP, "node", [ref])  # `import`, as Lambda's
    for key in (first, second, esm):
        assert invoke(local_client, key) == {"hi": "hi from a layer"}
