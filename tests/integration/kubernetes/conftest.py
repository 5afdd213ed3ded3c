"""A Kubernetes target on the session's test cluster, with the real pulumi CLI and provider.

Each test gets its own namespace and data directory (so its own file backend and workspaces);
PULUMI_HOME is shared. Teardown destroys whatever the test left and deletes the namespace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.kubernetes.target import KubernetesTarget
from engine.settings import Settings
from tests.fixtures.kube import KubeCluster
from tests.unit.kubernetes.cluster_view import Cluster, target_settings


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> Iterator[Cluster]:
    view = Cluster.connect(kube_cluster.kubeconfig, f"fns-{uuid.uuid4().hex[:8]}")
    view.create_namespace()
    yield view
    view.delete_namespace()


@pytest.fixture
def settings(
    kube_cluster: KubeCluster, pulumi_env: dict[str, str], cluster: Cluster, tmp_path: Path
) -> Settings:
    return target_settings(
        tmp_path / "data",
        kube_cluster.kubeconfig,
        cluster.namespace,
        Path(pulumi_env["PULUMI_HOME"]),
    )


@pytest.fixture
def target(settings: Settings) -> Iterator[KubernetesTarget]:
    k8s = KubernetesTarget(settings)
    yield k8s
    for key in sorted(k8s.service.workspace_keys()):
        k8s.destroy(key, lambda _line: None)
    k8s.close()
