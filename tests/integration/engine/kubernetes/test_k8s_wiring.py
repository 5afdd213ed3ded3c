"""Configuration wiring against the real CLI: the base stack's outputs, and NodePort upstreams."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from engine.keys import new_key
from engine.kubernetes.stacks import StackService
from engine.kubernetes.target import KubernetesTarget
from engine.settings import Settings
from tests.fixtures.k8s_cluster import Cluster, function_spec
from tests.fixtures.kube import KubeCluster

pytestmark = pytest.mark.cluster

BASE_PROJECT = "lambdaclone-base-test"


def _make_base_stack(service: StackService, namespace: str, kubeconfig: str) -> str:
    def program() -> None:
        pulumi.export("kubeconfig", pulumi.Output.secret(kubeconfig))
        pulumi.export("functionsNamespace", namespace)
        pulumi.export("ingressGroup", "from-base")

    work_dir = service.layout.root / "base-test"
    workspace = service.workspace(work_dir, program)
    workspace.save_project_settings(
        auto.ProjectSettings(
            name=BASE_PROJECT,
            runtime="python",
            backend=auto.ProjectBackend(url=service.layout.backend_url),
        )
    )
    stack = auto.Stack.create_or_select("dev", workspace)
    stack.up(program=program)
    return f"organization/{BASE_PROJECT}/dev"


def test_base_stack_outputs_configure_the_target(
    settings: Settings, cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    seed = StackService(settings)
    try:
        ref = _make_base_stack(seed, cluster.namespace, kube_cluster.kubeconfig.read_text())
    finally:
        seed.close()
    wired = settings.model_copy(
        update={"base_stack": ref, "namespace": "not-this", "kubeconfig": None}
    )
    target = KubernetesTarget(wired)
    try:
        cfg = target.config()
        assert (cfg.namespace, cfg.ingress_group) == (cluster.namespace, "from-base")
        assert cfg.kubeconfig == kube_cluster.kubeconfig.read_text()
        key = new_key()
        target.apply(function_spec(key), lambda _line: None)
        assert cluster.is_available(key)
        target.destroy(key, lambda _line: None)
    finally:
        target.close()


def test_nodeport_upstream_uses_the_services_node_port(
    settings: Settings, cluster: Cluster, tmp_path: Path
) -> None:
    nodeport = settings.model_copy(
        update={"k8s_upstream": "nodeport", "k8s_node_host": "10.0.0.10"}
    )
    target = KubernetesTarget(nodeport)
    try:
        key = new_key()
        target.apply(function_spec(key), lambda _line: None)
        upstream = asyncio.run(target.upstream(key))
        assert upstream.host == "10.0.0.10"
        assert upstream.port == cluster.service(key).spec.ports[0].node_port
        target.destroy(key, lambda _line: None)
    finally:
        target.close()
