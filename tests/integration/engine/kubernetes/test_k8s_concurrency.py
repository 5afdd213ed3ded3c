"""Many stacks at once: ten functions created concurrently all become ready, and are deleted
concurrently without leaving anything behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.keys import new_key
from engine.kubernetes.target import KubernetesTarget
from tests.fixtures.k8s_cluster import Cluster, function_spec, wait_for

pytestmark = pytest.mark.cluster

FUNCTIONS = 10


def test_ten_concurrent_creates_all_become_ready(
    target: KubernetesTarget, cluster: Cluster
) -> None:
    keys = [new_key() for _ in range(FUNCTIONS)]
    with ThreadPoolExecutor(max_workers=FUNCTIONS) as pool:
        list(pool.map(lambda key: target.apply(function_spec(key), lambda _line: None), keys))
    # apply returned once each function's pods were ready and in its Service's endpoints; the
    # Deployment controller sets its own Available condition a moment later
    wait_for(lambda: all(cluster.is_available(key) for key in keys), 30, "Deployments Available")
    assert set(keys) <= target.service.stack_keys()

    with ThreadPoolExecutor(max_workers=FUNCTIONS) as pool:
        list(pool.map(lambda key: target.destroy(key, lambda _line: None), keys))
    assert not set(keys) & target.service.stack_keys()
    assert not target.service.workspace_keys()
    wait_for(lambda: not any(cluster.objects_of(key) for key in keys), 60, "no objects left")


def test_operations_on_one_function_run_one_at_a_time(
    target: KubernetesTarget, cluster: Cluster
) -> None:
    key = new_key()
    specs = [
        function_spec(key, code=f"# v{i}\ndef handler(e, c):\n    return {i}\n") for i in range(3)
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda spec: target.apply(spec, lambda _line: None), specs))
    shown = cluster.configmap(key).data["handler.py"]
    assert shown in {spec.code for spec in specs}
    assert cluster.is_available(key)
