"""End to end on a real node: the control plane runs inside the test cluster, deployed with the
base stack's own Kubernetes objects (tests/fixtures/in_cluster.py), and serves functions from
real containers (containerd, runc) through a real ingress controller (Traefik, class `alb`).

One module-wide setup, in parallel where it can be: the control plane is deployed, then every
function of the module is created at once through its API — python, node and go in the
original conventions, python and node in Lambda's, one that allocates past its memory limit
and one that exits at start. The tests then look at what came of them; the last one deletes
them all.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.control_plane import DATA_DIR
from tests.fixtures.in_cluster import (
    FUNCTIONS_NS,
    SYSTEM_NS,
    InCluster,
    can_i,
    deploy_control_plane,
)
from tests.fixtures.kube import REAL_NODE_NAME
from tests.fixtures.pulumi import pulumi_environment
from tests.fixtures.real_cluster import RealCluster, real_cluster
from tests.fixtures.specs import default_code

__all__ = ["real_cluster"]

pytestmark = [pytest.mark.real_node, pytest.mark.timeout(1500)]

OPERATION_TIMEOUT_S = 240.0
STORE_RETRIES = 3
KEY_LABEL = "lambdaclone.dev/key"

PYTHON_LAMBDA = """import json


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    body = {"convention": "lambda", "runtime": "python", "a": query.get("a")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}
"""
NODE_LAMBDA = """exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ convention: 'lambda', runtime: 'node',
                         a: (event.queryStringParameters || {}).a }),
});
"""
PYTHON_V2 = """import time

from flask import jsonify, request

time.sleep(2)  # a slow start: readiness keeps requests on the old pod meanwhile


def handler():
    return jsonify(version=2, params=request.args), 200
"""
OOM = """big = bytearray(512 * 1024 * 1024)  # past the 128 MB limit, at import


def handler(event, context):
    return len(big)
"""
BROKEN = """def handler(event, context:
    return 1
"""
CRASH = """import os

os._exit(3)  # the process dies before it can serve
"""


@dataclass(frozen=True)
class Case:
    body: dict[str, Any]
    expect: dict[str, Any] | None
    """The JSON an invocation with ?a=1 answers; None: the function must fail to start."""


CASES = {
    "python": Case(
        {"runtime": "python", "version": "3.12", "code": default_code("python")},
        {"params": {"a": "1"}},
    ),
    "node": Case(
        {"runtime": "node", "version": "20", "code": default_code("node")},
        {"params": {"a": "1"}},
    ),
    "go": Case(
        {"runtime": "golang", "version": "1.22", "code": default_code("golang")},
        {"params": {"a": ["1"]}},
    ),
    "python-lambda": Case(
        {"runtime": "python", "version": "3.12", "code": PYTHON_LAMBDA, "convention": "lambda"},
        {"convention": "lambda", "runtime": "python", "a": "1"},
    ),
    "node-lambda": Case(
        {"runtime": "node", "version": "20", "code": NODE_LAMBDA, "convention": "lambda"},
        {"convention": "lambda", "runtime": "node", "a": "1"},
    ),
    "oom": Case({"runtime": "python", "version": "3.12", "code": OOM, "memory_mb": 128}, None),
    "crash": Case({"runtime": "python", "version": "3.12", "code": CRASH}, None),
    "broken": Case({"runtime": "python", "version": "3.12", "code": BROKEN}, None),
}
SERVING = [name for name, case in CASES.items() if case.expect is not None]


@dataclass
class Deployed:
    cluster: RealCluster
    control: InCluster
    api: httpx.Client
    keys: dict[str, str] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.cluster.kube.kubectl(*args, "-o", "json"))

    def function(self, key: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api.get("/lambda", params={"key": key}).json()
        return found

    def pods(self, key: str) -> list[dict[str, Any]]:
        found = self.kubectl_json("get", "pods", "-n", FUNCTIONS_NS, "-l", f"{KEY_LABEL}={key}")
        return list(found["items"])

    def node_port(self, key: str) -> int:
        service = self.kubectl_json("get", "service", "-n", FUNCTIONS_NS, f"lc-{key}")
        return int(service["spec"]["ports"][0]["nodePort"])

    def control_plane_ip(self) -> str:
        service = self.kubectl_json("get", "service", "-n", SYSTEM_NS, "lambdaclone-control-plane")
        return str(service["spec"]["clusterIP"])


def wait_operation(api: httpx.Client, operation: dict[str, Any]) -> dict[str, Any]:
    """Polls the operation until it finished; returns its last state."""
    deadline = time.monotonic() + OPERATION_TIMEOUT_S
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = api.get(f"/lambda/operations/{operation['id']}")
        assert answer.status_code in (200, 503), answer.text  # 503: the store is busy
        found = answer.json()
        if found.get("state") in ("succeeded", "failed"):
            return found
        time.sleep(0.5)
    raise AssertionError(f"operation {operation['id']} did not finish: {found}")


def create(api: httpx.Client, name: str, case: Case) -> tuple[str, dict[str, Any], float]:
    started = time.monotonic()
    answer = api.post("/lambda", json={"name": f"e2e-{name}", **case.body})
    for _ in range(STORE_RETRIES):  # the in-cluster FerretDB can drop a connection in a burst
        if answer.status_code != 503 or answer.json()["error"]["code"] != "store_unavailable":
            break
        time.sleep(1)
        answer = api.post("/lambda", json={"name": f"e2e-{name}", **case.body})
    assert answer.status_code == 202, answer.text
    mutation = answer.json()
    done = wait_operation(api, mutation["operation"])
    return mutation["function"]["key"], done, time.monotonic() - started


@pytest.fixture(scope="module")
def deployed(
    real_cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("in-cluster")
    env = pulumi_environment(root / "pulumi")
    started = time.monotonic()
    with deploy_control_plane(real_cluster, root / "work", env) as control:
        api = httpx.Client(base_url=control.url, headers=control.headers, timeout=30)
        found = Deployed(real_cluster, control, api)
        found.timings["control_plane_s"] = time.monotonic() - started
        with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
            futures = {name: pool.submit(create, api, name, case) for name, case in CASES.items()}
            for name, future in futures.items():
                key, operation, seconds = future.result()
                found.keys[name], found.operations[name] = key, operation
                found.timings[f"create_{name}_s"] = seconds
        try:
            yield found
        finally:
            _delete_all(found)
            api.close()
            print(f"\ne2e timings: {json.dumps(found.timings | real_cluster.timings, indent=1)}")


def _delete_all(deployed: Deployed) -> None:
    for key in deployed.keys.values():
        deployed.api.delete("/lambda", params={"key": key})


def invoke(url: str, timeout: float = 10) -> httpx.Response:
    return httpx.get(url, params={"a": "1"}, timeout=timeout)


def assert_answers(response: httpx.Response, expect: dict[str, Any]) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body.get(k) for k in expect} == expect, body


# --- what came of the creates -------------------------------------------------------------------
def test_serving_functions_became_ready(deployed: Deployed) -> None:
    for name in SERVING:
        operation = deployed.operations[name]
        assert operation["state"] == "succeeded", (name, operation.get("error"))
        assert deployed.function(deployed.keys[name])["status"]["phase"] == "Ready"


def test_pods_run_in_containerd_on_the_real_node(deployed: Deployed) -> None:
    node = deployed.kubectl_json("get", "node", REAL_NODE_NAME)
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert "kwok.x-k8s.io/node" not in node["metadata"].get("annotations", {})
    for name in SERVING:
        (pod,) = deployed.pods(deployed.keys[name])
        assert pod["spec"]["nodeName"] == REAL_NODE_NAME
        assert pod["status"]["phase"] == "Running"
        (status,) = pod["status"]["containerStatuses"]
        assert status["ready"] is True
        assert status["containerID"].startswith("containerd://")


def test_functions_answer_through_the_ingress_the_node_port_and_the_control_plane(
    deployed: Deployed,
) -> None:
    ingress = deployed.cluster.ingress().url
    control_plane = f"http://{deployed.control_plane_ip()}"
    for name in SERVING:
        key, expect = deployed.keys[name], CASES[name].expect
        assert expect is not None
        path = f"/endpoint/{key}"
        assert_answers(invoke(f"{ingress}{path}"), expect)
        assert_answers(invoke(f"http://127.0.0.1:{deployed.node_port(key)}{path}"), expect)
        assert_answers(invoke(f"{control_plane}{path}"), expect)


def test_pods_run_the_pushed_images_by_digest_non_root_read_only(deployed: Deployed) -> None:
    images = deployed.cluster.images()
    runtime_of = {"python": "python:3.12", "node": "node:20", "go": "golang:1.22"}
    for name, runtime in runtime_of.items():
        key = deployed.keys[name]
        (pod,) = deployed.pods(key)
        (container,) = pod["spec"]["containers"]
        assert container["image"] == images[f"runtime-{runtime}"]
        assert "@sha256:" in container["image"]
        assert deployed.function(key)["image"] == container["image"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["securityContext"]["runAsUser"] == 65532
        assert container["resources"]["limits"]["memory"] == "128Mi"


def test_an_oom_kill_is_reported_in_status_and_logs(deployed: Deployed) -> None:
    key, operation = deployed.keys["oom"], deployed.operations["oom"]
    assert operation["state"] == "failed"
    assert operation["error"]["detail"]["reason"] == "OOMKilled", operation["error"]
    status = deployed.function(key)["status"]
    assert status["phase"] == "Failed"
    assert status["last_error"]["detail"]["reason"] == "OOMKilled"
    lines = deployed.api.get("/lambda/logs", params={"key": key}).json()["lines"]
    platform = [line["message"] for line in lines if line["stream"] == "platform"]
    assert any("OOMKilled" in message for message in platform), lines


def test_a_crash_loop_is_reported_with_its_exit_code(deployed: Deployed) -> None:
    key, operation = deployed.keys["crash"], deployed.operations["crash"]
    assert operation["state"] == "failed"
    detail = operation["error"]["detail"]
    assert detail["exit_code"] == 3, operation["error"]
    assert detail["restarts"] >= 1
    assert "keeps exiting" in operation["error"]["message"]
    assert deployed.function(key)["status"]["phase"] == "Failed"


def test_a_handler_that_does_not_load_is_reported_with_its_error(deployed: Deployed) -> None:
    operation = deployed.operations["broken"]
    assert operation["state"] == "failed"
    assert operation["error"]["detail"]["reason"] == "HandlerLoadError", operation["error"]
    assert "syntax error" in operation["error"]["detail"]["output"]
    (pod,) = deployed.pods(deployed.keys["broken"])
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0, "not restarted for it"


def test_pod_logs_reach_the_api(deployed: Deployed) -> None:
    key = deployed.keys["python-lambda"]
    assert invoke(f"{deployed.cluster.ingress().url}/endpoint/{key}").status_code == 200
    answer = deployed.api.get("/lambda/logs", params={"key": key, "limit": 50})
    assert answer.status_code == 200, answer.text
    lines = answer.json()["lines"]
    assert lines and all(line["pod"].startswith(f"lc-{key}-") for line in lines)
    assert any(line["stream"] == "container" for line in lines), lines


def test_the_control_plane_has_the_rights_it_needs_and_no_more(deployed: Deployed) -> None:
    cluster = deployed.cluster
    for verb, resource in [
        ("create", "deployments.apps"),
        ("patch", "services"),
        ("delete", "ingresses.networking.k8s.io"),
        ("update", "configmaps"),
        ("create", "secrets"),  # a function's secret values
        ("get", "pods/log"),
        ("watch", "pods"),
    ]:
        assert can_i(cluster, verb, resource, FUNCTIONS_NS), (verb, resource)
    for verb, resource, namespace in [
        ("create", "pods", FUNCTIONS_NS),
        ("create", "pods/exec", FUNCTIONS_NS),
        ("create", "roles.rbac.authorization.k8s.io", FUNCTIONS_NS),
        ("get", "pods", SYSTEM_NS),
        ("get", "secrets", SYSTEM_NS),
        ("list", "pods", "default"),
        ("create", "deployments.apps", "default"),
        ("create", "namespaces", None),
        ("create", "clusterroles.rbac.authorization.k8s.io", None),
        ("list", "nodes", None),
    ]:
        assert not can_i(cluster, verb, resource, namespace), (verb, resource, namespace)


# --- a code change under load ---------------------------------------------------------------
@dataclass
class Stream:
    """Sequential GETs against one URL until stopped; counts the answers."""

    url: str
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        # a slow answer is not a failed one: on a loaded machine one can take over 10 s
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                try:
                    answer = client.get(self.url, params={"a": "1"})
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if answer.status_code == 200:
                    self.ok += 1
                    self.bodies.append(answer.json())
                else:
                    self.failures.append(f"{answer.status_code}: {answer.text[:200]}")


def under_load(urls: list[str], action: Callable[[], None]) -> list[Stream]:
    streams = [Stream(url) for url in urls]
    threads = [threading.Thread(target=s.run, daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        action()
        time.sleep(1)
    finally:
        for stream in streams:
            stream.stop.set()
        for thread in threads:
            thread.join(timeout=15)
    return streams


def test_a_code_update_rolls_without_a_failed_request(deployed: Deployed) -> None:
    key = deployed.keys["python"]
    path = f"/endpoint/{key}"
    urls = [
        f"{deployed.cluster.ingress().url}{path}",
        f"http://{deployed.control_plane_ip()}{path}",
    ]
    pods_before = {p["metadata"]["name"] for p in deployed.pods(key)}

    def patch() -> None:
        started = time.monotonic()
        answer = deployed.api.patch("/lambda", json={"key": key, "code": PYTHON_V2})
        assert answer.status_code == 202, answer.text
        done = wait_operation(deployed.api, answer.json()["operation"])
        assert done["state"] == "succeeded", done.get("error")
        deployed.timings["update_s"] = time.monotonic() - started

    streams = under_load(urls, patch)
    for stream in streams:
        assert stream.ok > 20, stream.url
        assert stream.failures == [], (stream.url, stream.failures[:5])
        assert stream.bodies[0].get("message"), ("the old code answered first", stream.url)
        assert stream.bodies[-1].get("version") == 2, ("and the new code last", stream.url)
    pods_after = {p["metadata"]["name"] for p in deployed.pods(key)}
    assert pods_after and not pods_after & pods_before, "the pods rolled"
    deployed.timings["update_requests"] = float(sum(s.ok for s in streams))


# --- delete ---------------------------------------------------------------------------------
def test_delete_leaves_nothing_behind(deployed: Deployed) -> None:
    def delete(key: str) -> dict[str, Any]:
        answer = deployed.api.delete("/lambda", params={"key": key})
        assert answer.status_code == 202, answer.text
        return wait_operation(deployed.api, answer.json()["operation"])

    with ThreadPoolExecutor(max_workers=len(deployed.keys)) as pool:
        done = list(pool.map(delete, deployed.keys.values()))
    assert all(op["state"] == "succeeded" for op in done), [op.get("error") for op in done]
    kinds = "pods,deployments,replicasets,services,ingresses,configmaps,secrets"
    for key in deployed.keys.values():
        left = deployed.kubectl_json("get", kinds, "-n", FUNCTIONS_NS, "-l", f"{KEY_LABEL}={key}")
        assert left["items"] == [], [i["metadata"]["name"] for i in left["items"]]
        assert deployed.api.get("/lambda", params={"key": key}).status_code == 404
    stacks = control_plane_files(deployed, "pulumi")
    for key in deployed.keys.values():
        assert key not in stacks, f"a stack or workspace of {key} is left"


def control_plane_files(deployed: Deployed, under: str) -> str:
    """Every path under the control plane's data directory (Pulumi's state and workspaces)."""
    pod = deployed.kubectl_json(
        "get", "pods", "-n", SYSTEM_NS, "-l", "app.kubernetes.io/name=lambdaclone-control-plane"
    )["items"][0]["metadata"]["name"]
    return deployed.cluster.kube.kubectl(
        "exec", "-n", SYSTEM_NS, pod, "--", "ls", "-R", str(Path(DATA_DIR) / under)
    )
