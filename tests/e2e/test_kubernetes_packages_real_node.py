"""Built artifacts on the real node (ADR 0048): function packages with dependencies from the
registries (a pure-Python one, a compiled wheel, lodash, serverless-http + express) and a Go
`lambda.Start` program, created through a control plane's API, built by
it with the local target's own build code, fetched by their pods' init container from its
`/internal/artifacts` route, and served by real containers; a function with a layer
published through the same API, whose pods get the layer's tree (its /opt) in the artifact;
a `provided` shell bootstrap; a rebuild of unchanged requirements that installs nothing, and a
failing build that leaves the running revision serving.

The session's real cluster (the one `test_kubernetes_real_node.py` uses: no second cluster).
The control plane runs in this process (uvicorn on the node's address, so the pods reach its
artifact route), since the control-plane image carries no pip/npm/go toolchain yet (see the
ADR); everything else is real: FerretDB, Pulumi, the kubelet, containerd, Traefik.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
import uvicorn

from api.app import create_app
from engine.artifact_tar import POD_OPT_DIR, ArtifactStore
from engine.catalog import read_default_code
from engine.kubernetes.artifact_pod import ARTIFACT_ANNOTATION, INIT_CONTAINER
from tests.fixtures.api import AUTH
from tests.fixtures.k8s_cluster import real_node_settings
from tests.fixtures.kube import REAL_NODE_NAME
from tests.fixtures.packages import zip_of
from tests.fixtures.real_cluster import RealCluster, real_cluster

__all__ = ["real_cluster"]

pytestmark = [pytest.mark.real_node, pytest.mark.timeout(900)]

OPERATION_TIMEOUT_S = 400.0
KEY_LABEL = "lambdaclone.dev/key"
ZIP = {"content-type": "application/zip"}
PY_HANDLER = """import six


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    return {"runtime": "python", "six": six.__version__, "a": query.get("a"), "v": VERSION}


VERSION = %d
"""
NODE_HANDLER = """const _ = require('lodash');
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ runtime: 'node', joined: _.join(['a', 'b', 'c'], '-'),
                         a: (event.queryStringParameters || {}).a }),
});
"""
GO_PROGRAM = """package main

import (
\t"context"
\t"encoding/json"

\t"github.com/aws/aws-lambda-go/events"
\t"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context,
	req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
\tbody, _ := json.Marshal(map[string]string{"runtime": "go", "a": req.QueryStringParameters["a"]})
\treturn events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body),
\t\tHeaders: map[string]string{"content-type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
"""


NUMPY_APP = """import numpy as np


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    return {"sum": int(np.arange(10).sum()), "numpy": np.__version__, "a": query.get("a")}
"""
EXPRESS_APP = """const serverless = require('serverless-http');
const express = require('express');
const app = express();
app.get('/', (req, res) => res.json({ runtime: 'express', a: req.query.a }));
module.exports.handler = serverless(app);
"""
EXPRESS_PACKAGE = {
    "name": "web",
    "version": "1.0.0",
    "dependencies": {"express": "4.21.2", "serverless-http": "3.2.0"},
}
LAYERED_APP = """import greet


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    return {"greeting": greet.GREETING, "from": greet.__file__, "a": query.get("a")}
"""
LAYER = "k8s-greet"
LAYER_REF = "<published layer>"
"""Replaced by the ref `POST /lambda/layers` answers (the module fixture publishes it)."""


NODE_LAYERED_APP = """import greet from 'greet';
export const handler = async (event) => ({
  greeting: greet.GREETING, from: greet.FROM, a: (event.queryStringParameters || {}).a,
});
"""
"""An ES module: its `import` finds the layer's package, as on Lambda's Node.js 18+."""


def layer_zip(version: int) -> bytes:
    """One layer for both languages, so two functions share it (Lambda's layout)."""
    greeting = f"hello from layer v{version}"
    node = f'exports.GREETING = "{greeting}";\nexports.FROM = __filename;\n'
    python = f'GREETING = "{greeting}"\n'
    return zip_of({"python/greet.py": python, "nodejs/node_modules/greet/index.js": node})


def python_zip(version: int) -> bytes:
    files = {"src/hello.py": PY_HANDLER % version, "requirements.txt": "six==1.16.0\n"}
    return zip_of(files)


NODE_PACKAGE = {"name": "hello", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}
CASES: dict[str, tuple[dict[str, Any], bytes | None, dict[str, Any]]] = {
    "python": (
        {
            "runtime": "python",
            "version": "3.12",
            "handler": "src/hello.handler",
            "convention": "lambda",
        },
        python_zip(1),
        {"runtime": "python", "six": "1.16.0", "a": "1", "v": 1},
    ),
    "node": (
        {"runtime": "node", "version": "20", "handler": "index.handler", "convention": "lambda"},
        zip_of({"index.js": NODE_HANDLER, "package.json": json.dumps(NODE_PACKAGE)}),
        {"runtime": "node", "joined": "a-b-c", "a": "1"},
    ),
    "go": (
        {"runtime": "golang", "version": "1.22", "code": GO_PROGRAM},
        None,
        {"runtime": "go", "a": "1"},
    ),
    "layer": (
        {
            "runtime": "python",
            "version": "3.12",
            "handler": "app.handler",
            "convention": "lambda",
            "file": LAYERED_APP,
            "layers": [LAYER_REF],
        },
        None,
        {"greeting": "hello from layer v1", "from": f"{POD_OPT_DIR}/python/greet.py", "a": "1"},
    ),
    "node-layer": (  # the same layer version as "layer"
        {
            "runtime": "node",
            "version": "20",
            "handler": "index.handler",
            "convention": "lambda",
            "file": NODE_LAYERED_APP,
            "layers": [LAYER_REF],
        },
        None,
        {
            "greeting": "hello from layer v1",
            "from": f"{POD_OPT_DIR}/nodejs/node_modules/greet/index.js",
            "a": "1",
        },
    ),
    "numpy": (  # a compiled wheel from the registry, built for the image's own CPython
        {"runtime": "python", "version": "3.12", "handler": "app.handler", "convention": "lambda"},
        zip_of({"app.py": NUMPY_APP, "requirements.txt": "numpy==2.1.3\n"}),
        {"sum": 45, "numpy": "2.1.3", "a": "1"},
    ),
    "express": (
        {"runtime": "node", "version": "20", "handler": "index.handler", "convention": "lambda"},
        zip_of({"index.js": EXPRESS_APP, "package.json": json.dumps(EXPRESS_PACKAGE)}),
        {"runtime": "express", "a": "1"},
    ),
    "provided": (  # the catalog's default bootstrap: a shell script that speaks the Runtime API
        {"runtime": "provided", "version": "2018-06-01", "file": read_default_code("provided")},
        None,
        {"message": "Hello from a shell bootstrap", "params": {"a": "1"}},
    ),
}
FROM_CONFIGMAP = frozenset({"provided"})
"""A single file with no layers and nothing to build: its code reaches the pod in a
ConfigMap, as before artifacts existed."""


@dataclass
class HostControlPlane:
    url: str
    client: httpx.Client
    cluster: RealCluster
    namespace: str
    data_dir: Path
    ingress_url: str
    keys: dict[str, str]
    layer_ref: str = ""

    def kube(self, *args: str) -> Any:
        return json.loads(self.cluster.kube.kubectl(*args, "-n", self.namespace, "-o", "json"))

    def pods(self, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kube("get", "pods", "-l", f"{KEY_LABEL}={key}")["items"]
        return items

    def wait(self, operation: str) -> dict[str, Any]:
        deadline = time.monotonic() + OPERATION_TIMEOUT_S
        while time.monotonic() < deadline:
            op: dict[str, Any] = self.client.get(f"/lambda/operations/{operation}").json()
            if op["state"] in {"succeeded", "failed"}:
                return op
            time.sleep(1)
        raise AssertionError(f"operation {operation} did not finish")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def host_plane(
    real_cluster: RealCluster, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostControlPlane]:
    real_cluster.images()
    ingress = real_cluster.ingress()
    namespace = f"pkg-{uuid.uuid4().hex[:8]}"
    real_cluster.kube.kubectl("create", "namespace", namespace)
    port, database = free_port(), f"t_k8s_packages_{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path_factory.mktemp("k8s-packages") / "data"
    settings = real_node_settings(real_cluster, data_dir, namespace).model_copy(
        update={
            "mongodb_uri": mongo_uri,
            "database": database,
            "host": "0.0.0.0",
            "port": port,
            "allowed_hosts": ("*",),
            "k8s_artifact_url": f"http://{real_cluster.node.ip}:{port}",
        }
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="0.0.0.0", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers=AUTH, timeout=30)
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    plane = HostControlPlane(url, client, real_cluster, namespace, data_dir, ingress.url, {})
    try:
        plane.layer_ref = publish_layer(plane, 1)
        plane.keys = create_all(plane)
        yield plane
    finally:  # every function still there, also when a create failed
        for item in client.get("/lambda/list", params={"limit": 100}).json()["items"]:
            client.delete("/lambda", params={"key": item["key"], "wait": "true"}, timeout=300)
        server.should_exit = True
        thread.join(timeout=30)
        client.close()
        real_cluster.kube.kubectl("delete", "namespace", namespace, "--wait=false")
        with pymongo.MongoClient(mongo_uri) as mongo:  # type: ignore[var-annotated]
            mongo.drop_database(database)


def publish_layer(plane: HostControlPlane, version: int) -> str:
    response = plane.client.post(
        "/lambda/layers", content=layer_zip(version), headers=ZIP, params={"name": LAYER}
    )
    assert response.status_code == 201, response.text
    ref: str = response.json()["ref"]
    return ref


def create_one(plane: HostControlPlane, name: str) -> tuple[str, dict[str, Any]]:
    fields, archive, _ = CASES[name]
    params = {"name": f"pkg-{name}", **fields}
    if "layers" in params:
        params["layers"] = [plane.layer_ref]
    if archive is None:
        response = plane.client.post("/lambda", json=params)
    else:
        response = plane.client.post("/lambda", params=params, content=archive, headers=ZIP)
    assert response.status_code == 202, response.text
    body = response.json()
    return body["function"]["key"], plane.wait(body["operation"]["id"])


def create_all(plane: HostControlPlane) -> dict[str, str]:
    with ThreadPoolExecutor(len(CASES)) as pool:
        done = dict(zip(CASES, pool.map(lambda n: create_one(plane, n), CASES), strict=True))
    for name, (_key, op) in done.items():
        assert op["state"] == "succeeded", f"{name}: {json.dumps(op)[-3000:]}"
    return {name: key for name, (key, _op) in done.items()}


def answers(plane: HostControlPlane, base: str, key: str) -> dict[str, Any]:
    headers = AUTH if base == plane.url else {}
    response = httpx.get(f"{base}/endpoint/{key}?a=1", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("name", list(CASES))
def test_a_built_function_runs_on_the_real_node_and_answers(
    host_plane: HostControlPlane, name: str
) -> None:
    key = host_plane.keys[name]
    (pod,) = [p for p in host_plane.pods(key) if p["status"]["phase"] == "Running"]
    assert pod["spec"]["nodeName"] == REAL_NODE_NAME
    config_maps = host_plane.kube("get", "configmaps", "-l", f"{KEY_LABEL}={key}")["items"]
    expected = CASES[name][2]
    assert answers(host_plane, host_plane.ingress_url, key) == expected
    assert answers(host_plane, host_plane.url, key) == expected
    if name in FROM_CONFIGMAP:
        assert "initContainerStatuses" not in pod["status"] and len(config_maps) == 1
        return
    (init,) = pod["status"]["initContainerStatuses"]
    assert init["name"] == INIT_CONTAINER
    assert init["state"]["terminated"]["exitCode"] == 0
    assert not config_maps
    digest = pod["metadata"]["annotations"][ARTIFACT_ANNOTATION]
    assert ArtifactStore.under(host_plane.data_dir).owns(key, digest)


def test_a_code_change_builds_a_new_artifact_and_rolls_the_pods(
    host_plane: HostControlPlane,
) -> None:
    key = host_plane.keys["python"]
    (before,) = host_plane.pods(key)
    old = before["metadata"]["annotations"][ARTIFACT_ANNOTATION]
    response = host_plane.client.patch(
        "/lambda", params={"key": key}, content=python_zip(2), headers=ZIP
    )
    assert response.status_code == 202, response.text
    op = host_plane.wait(response.json()["operation"]["id"])
    assert op["state"] == "succeeded", op
    progress = "\n".join(line["message"] for line in op["progress"])
    assert "nothing installed" in progress, progress  # the same requirements: cached
    running = [p for p in host_plane.pods(key) if p["status"]["phase"] == "Running"]
    new = {p["metadata"]["annotations"][ARTIFACT_ANNOTATION] for p in running}
    assert new and old not in new
    assert answers(host_plane, host_plane.url, key)["v"] == 2
    store = ArtifactStore.under(host_plane.data_dir)
    assert not store.owns(key, old)  # the rolled-out artifact replaced it


def test_a_failing_dependency_build_keeps_the_running_revision_serving(
    host_plane: HostControlPlane,
) -> None:
    key = host_plane.keys["numpy"]
    before = {p["metadata"]["name"] for p in host_plane.pods(key)}
    broken = {"app.py": NUMPY_APP, "requirements.txt": "lambdaclone-no-such-package==1.0\n"}
    response = host_plane.client.patch(
        "/lambda", params={"key": key}, content=zip_of(broken), headers=ZIP
    )
    assert response.status_code == 202, response.text
    op = host_plane.wait(response.json()["operation"]["id"])
    assert op["state"] == "failed", op
    assert op["error"]["code"] == "dependency_build_failed", op["error"]
    assert "lambdaclone-no-such-package" in op["error"]["detail"]["build_output"]
    assert {p["metadata"]["name"] for p in host_plane.pods(key)} == before
    assert answers(host_plane, host_plane.ingress_url, key) == CASES["numpy"][2]


def test_the_layer_tree_is_mounted_read_only_beside_the_code(
    host_plane: HostControlPlane,
) -> None:
    key = host_plane.keys["layer"]
    (pod,) = [p for p in host_plane.pods(key) if p["status"]["phase"] == "Running"]
    (container,) = pod["spec"]["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[POD_OPT_DIR]["readOnly"] is True
    assert mounts["/var/task"]["readOnly"] is True
    assert mounts[POD_OPT_DIR]["subPath"] != mounts["/var/task"]["subPath"]


def test_a_new_layer_version_builds_a_new_artifact_and_rolls_the_pods(
    host_plane: HostControlPlane,
) -> None:
    key = host_plane.keys["layer"]
    (before,) = [p for p in host_plane.pods(key) if p["status"]["phase"] == "Running"]
    old = before["metadata"]["annotations"][ARTIFACT_ANNOTATION]
    ref = publish_layer(host_plane, 2)
    response = host_plane.client.patch("/lambda", json={"key": key, "layers": [ref]})
    assert response.status_code == 202, response.text
    op = host_plane.wait(response.json()["operation"]["id"])
    assert op["state"] == "succeeded", op
    running = [p for p in host_plane.pods(key) if p["status"]["phase"] == "Running"]
    new = {p["metadata"]["annotations"][ARTIFACT_ANNOTATION] for p in running}
    assert new and old not in new
    assert answers(host_plane, host_plane.ingress_url, key)["greeting"] == "hello from layer v2"
    assert answers(host_plane, host_plane.url, key)["greeting"] == "hello from layer v2"
    sharing = host_plane.keys["node-layer"]  # still on version 1: a version never changes
    assert answers(host_plane, host_plane.url, sharing) == CASES["node-layer"][2]


def test_delete_leaves_nothing(host_plane: HostControlPlane) -> None:
    store = ArtifactStore.under(host_plane.data_dir)
    for name, key in list(host_plane.keys.items()):
        response = host_plane.client.delete(
            "/lambda", params={"key": key, "wait": "true"}, timeout=300
        )
        assert response.status_code in {200, 202}, response.text
        if response.status_code == 202:
            host_plane.wait(response.json()["operation"]["id"])
        objects = host_plane.cluster.kube.kubectl(
            "get",
            "all,secrets,configmaps,ingresses",
            "-n",
            host_plane.namespace,
            "-l",
            f"{KEY_LABEL}={key}",
            "-o",
            "name",
        )
        assert objects.strip() == "", f"{name}: {objects}"
        del host_plane.keys[name]
    assert list(store.root.glob("*.tar.gz")) == []
