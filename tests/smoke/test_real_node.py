"""A real node in the test cluster runs containers the way function pods need: a hardened
busybox web server (non-root, read-only root, RuntimeDefault seccomp, no capabilities, emptyDir
and ConfigMap volumes, limits, httpGet probes) behind a NodePort answers from the host and from
pods, its logs and exec work through the apiserver, rolling updates roll, a container that
allocates past its memory limit is OOMKilled by its cgroup, and images pull from a plain-HTTP
local registry."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.kube import KubeCluster
from tests.fixtures.real_cluster import RealCluster, real_cluster
from tests.fixtures.real_node import (
    BUSYBOX_IMAGE,
    NODE_SELECTOR,
    NODE_TOLERATION,
    RealNode,
    busybox_image_archive,
)
from tests.fixtures.registry import Registry

__all__ = ["real_cluster"]

pytestmark = pytest.mark.real_node

PAGE = "hello from the real node\n"
UID = 65532
POD_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def registry(real_cluster: RealCluster) -> Registry:
    """The shared real cluster's local registry (the node trusts it over plain HTTP)."""
    return real_cluster.registry


@pytest.fixture(scope="session")
def real_kube(real_cluster: RealCluster) -> KubeCluster:
    """The session's one real cluster (tests/fixtures/real_cluster.py), shared with the e2e
    test and the contract suite: only one real node may run per machine."""
    return real_cluster.kube


def _node(cluster: KubeCluster) -> RealNode:
    assert cluster.real_node is not None
    return cluster.real_node


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_image_archive(tmp_path_factory.mktemp("images") / "busybox.tar")


@pytest.fixture(scope="session")
def busybox(real_kube: KubeCluster, busybox_archive: Path) -> str:
    """The test image, imported into the node's containerd (no registry needed)."""
    _node(real_kube).import_image(busybox_archive)
    return BUSYBOX_IMAGE


def _wait(check: Callable[[], Any], timeout_s: float, what: str, cluster: KubeCluster) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout_s}s\n{cluster.log_tails()}")


def _get(cluster: KubeCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json"))


def _apply(cluster: KubeCluster, *objects: dict[str, Any]) -> None:
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )


def _hardened(container: dict[str, Any]) -> dict[str, Any]:
    container["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return container


def _pod_spec(containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "nodeSelector": NODE_SELECTOR,
        "tolerations": [NODE_TOLERATION],
        "terminationGracePeriodSeconds": 2,  # busybox as PID 1 ignores SIGTERM
        "containers": [_hardened(c) for c in containers],
        **extra,
    }


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/", "port": 8080},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


def _web(image: str) -> list[dict[str, Any]]:
    server = {
        "name": "web",
        "image": image,
        "command": [
            "/bin/sh",
            "-c",
            "echo serving; echo ok > /scratch/started; exec httpd -f -v -p 8080 -h /www",
        ],
        "ports": [{"containerPort": 8080}],
        "startupProbe": _probe(1, 60),
        "readinessProbe": _probe(2, 2),
        "livenessProbe": _probe(5, 3),
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "200m", "memory": "32Mi"},
        },
        "volumeMounts": [
            {"name": "page", "mountPath": "/www", "readOnly": True},
            {"name": "scratch", "mountPath": "/scratch"},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": _pod_spec(
                    [server],
                    volumes=[
                        {"name": "page", "configMap": {"name": "web-page"}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}},
                    ],
                ),
            },
        },
    }
    page = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-page"},
        "data": {"index.html": PAGE},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080}],
        },
    }
    return [page, deployment, service]


def _available(cluster: KubeCluster, name: str) -> bool:
    deployment = _get(cluster, "deployment", name)
    status = deployment["status"]
    return bool(
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("updatedReplicas") == 1
        and status.get("availableReplicas") == 1
        and status.get("replicas") == 1
    )


def _pods(cluster: KubeCluster, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _get(cluster, "pods", "-l", selector)["items"]
    return [p for p in items if "deletionTimestamp" not in p["metadata"]]


@pytest.fixture(scope="session")
def web(real_kube: KubeCluster, busybox: str) -> dict[str, Any]:
    """The web Deployment, available; returns its (only) pod."""
    _apply(real_kube, *_web(busybox))
    _wait(lambda: _available(real_kube, "web"), POD_TIMEOUT_S, "web available", real_kube)
    (pod,) = _pods(real_kube, "app=web")
    return pod


def _node_port(cluster: KubeCluster) -> int:
    return int(_get(cluster, "service", "web")["spec"]["ports"][0]["nodePort"])


def _http(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _exec(cluster: KubeCluster, pod: dict[str, Any], *argv: str) -> str:
    return cluster.kubectl("exec", pod["metadata"]["name"], "-c", "web", "--", *argv)


def test_pod_runs_on_the_real_node_under_containerd(
    real_kube: KubeCluster, web: dict[str, Any]
) -> None:
    node = _node(real_kube)
    assert web["spec"]["nodeName"] == node.name
    assert web["status"]["podIP"].startswith("10.88.")
    info = _get(real_kube, "node", node.name)["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("containerd://")
    statuses = web["status"]["containerStatuses"]
    assert statuses[0]["containerID"].startswith("containerd://")
    assert statuses[0]["ready"] is True


def test_node_port_answers_on_loopback_and_node_ip(
    real_kube: KubeCluster, web: dict[str, Any]
) -> None:
    port = _node_port(real_kube)
    assert _http(f"http://127.0.0.1:{port}/") == PAGE
    assert _http(f"http://{_node(real_kube).ip}:{port}/") == PAGE


def test_cluster_ip_answers_from_a_pod(real_kube: KubeCluster, web: dict[str, Any]) -> None:
    cluster_ip = _get(real_kube, "service", "web")["spec"]["clusterIP"]
    # (busybox 1.35 wget crashes with its own -T timeout; `timeout` bounds it instead)
    assert _exec(real_kube, web, "timeout", "5", "wget", "-qO-", f"http://{cluster_ip}/") == PAGE


def test_logs_come_through_the_apiserver(real_kube: KubeCluster, web: dict[str, Any]) -> None:
    logs = real_kube.kubectl("logs", web["metadata"]["name"], "-c", "web")
    assert logs.splitlines()[0] == "serving"


def test_security_context_is_enforced(real_kube: KubeCluster, web: dict[str, Any]) -> None:
    assert _exec(real_kube, web, "id", "-u").strip() == str(UID)
    status = _exec(real_kube, web, "cat", "/proc/self/status")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Seccomp"].strip() == "2"  # filter mode: RuntimeDefault
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    with pytest.raises(RuntimeError, match="Read-only file system"):
        _exec(real_kube, web, "touch", "/rootfs-write")
    assert _exec(real_kube, web, "cat", "/scratch/started") == "ok\n"
    v2_or_v1 = "cat /sys/fs/cgroup/memory.max || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
    limit = _exec(real_kube, web, "sh", "-c", f"{v2_or_v1} 2>/dev/null")
    assert int(limit) == 32 * 1024 * 1024


def test_rolling_update_replaces_the_pod(real_kube: KubeCluster, web: dict[str, Any]) -> None:
    patch = {"spec": {"template": {"metadata": {"annotations": {"rollout": "2"}}}}}
    real_kube.kubectl("patch", "deployment", "web", "-p", json.dumps(patch))
    real_kube.kubectl("rollout", "status", "deployment/web", f"--timeout={POD_TIMEOUT_S:.0f}s")
    _wait(lambda: _available(real_kube, "web"), POD_TIMEOUT_S, "rolled out", real_kube)
    pods = _wait(
        lambda: [
            p
            for p in _pods(real_kube, "app=web")
            if p["status"].get("phase") == "Running"
            and p["metadata"]["name"] != web["metadata"]["name"]
        ],
        POD_TIMEOUT_S,
        "new pod",
        real_kube,
    )
    assert pods[0]["spec"]["nodeName"] == _node(real_kube).name
    assert _http(f"http://127.0.0.1:{_node_port(real_kube)}/") == PAGE


def _terminated(cluster: KubeCluster, name: str) -> dict[str, Any] | None:
    statuses = _get(cluster, "pod", name)["status"].get("containerStatuses", [])
    state: dict[str, Any] | None = statuses[0]["state"].get("terminated") if statuses else None
    return state


def test_memory_limit_is_enforced_by_the_oom_killer(real_kube: KubeCluster, busybox: str) -> None:
    hog = {
        "name": "hog",
        "image": busybox,
        # dd fills a 64 MiB buffer: past the 24 MiB limit, the memory cgroup kills it.
        "command": ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
        "resources": {"limits": {"cpu": "200m", "memory": "24Mi"}},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hog"},
        "spec": _pod_spec([hog], restartPolicy="Never"),
    }
    _apply(real_kube, pod)
    state = _wait(lambda: _terminated(real_kube, "hog"), POD_TIMEOUT_S, "hog ends", real_kube)
    assert state["reason"] == "OOMKilled"
    assert state["exitCode"] == 137
    phase = _wait(
        lambda: _get(real_kube, "pod", "hog")["status"].get("phase") == "Failed",
        30,
        "phase Failed",
        real_kube,
    )
    assert phase


def _phase(cluster: KubeCluster, name: str) -> str:
    return str(_get(cluster, "pod", name)["status"].get("phase", ""))


def test_image_pulls_from_a_plain_http_registry(
    real_kube: KubeCluster, registry: Registry, busybox_archive: Path
) -> None:
    image = registry.image("lambdaclone/busybox", "pulled")
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            f"oci-archive:{busybox_archive}",
            f"docker://{image}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    puller = {
        "name": "pulled",
        "image": image,
        "imagePullPolicy": "Always",
        "command": ["/bin/echo", "pulled"],
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pulled"},
        "spec": _pod_spec([puller], restartPolicy="Never"),
    }
    _apply(real_kube, pod)
    _wait(
        lambda: _phase(real_kube, "pulled") == "Succeeded",
        POD_TIMEOUT_S,
        "pulled pod ends",
        real_kube,
    )
    assert real_kube.kubectl("logs", "pulled") == "pulled\n"


def test_pods_without_the_toleration_stay_on_kwok_nodes(real_kube: KubeCluster) -> None:
    """The taint keeps the suite's kwok-only workloads (images nobody can pull) off the real
    node: unselected, the scheduler would put about one pod in four there."""
    real_kube.kubectl(
        "create", "deployment", "fake", "--image=example.invalid/app:1", "--replicas=6"
    )
    _wait(
        lambda: _get(real_kube, "deployment", "fake")["status"].get("availableReplicas") == 6,
        60,
        "fake available",
        real_kube,
    )
    nodes = {p["spec"]["nodeName"] for p in _pods(real_kube, "app=fake")}
    assert nodes and all(node.startswith("kwok-node-") for node in nodes)
