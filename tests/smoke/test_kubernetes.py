"""The cluster boundary is a real control plane: a Deployment made through the Kubernetes API
is scheduled on a kwok node and becomes Available."""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.kube import KubeCluster

pytestmark = pytest.mark.cluster


def _deployment(name: str) -> str:
    labels = {"app": name}
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]},
                },
            },
        }
    )


def test_deployment_becomes_available_on_kwok_nodes(kube_cluster: KubeCluster) -> None:
    kube_cluster.kubectl("apply", "-f", "-", stdin=_deployment("smoke"))

    deadline = time.monotonic() + 60
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        found = kube_cluster.kubectl("get", "deployment", "smoke", "-o", "json")
        status = json.loads(found)["status"]
        if status.get("availableReplicas") == 2:
            break
        time.sleep(0.5)

    assert status.get("availableReplicas") == 2, kube_cluster.log_tails()
    pods = json.loads(kube_cluster.kubectl("get", "pods", "-l", "app=smoke", "-o", "json"))["items"]
    assert {p["spec"]["nodeName"].startswith("kwok-node-") for p in pods} == {True}
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    kube_cluster.kubectl("delete", "deployment", "smoke", "--wait=true")
