"""A Kubernetes target on the session's test cluster, with the real pulumi CLI and provider
(the fixtures live in tests/fixtures/k8s_cluster.py; here under the names these tests use)."""

from __future__ import annotations

import pytest

from engine.kubernetes.target import KubernetesTarget
from engine.settings import Settings
from tests.fixtures.k8s_cluster import cluster, k8s_settings, k8s_target

__all__ = ["cluster", "k8s_settings", "k8s_target"]


@pytest.fixture
def settings(k8s_settings: Settings) -> Settings:
    return k8s_settings


@pytest.fixture
def target(k8s_target: KubernetesTarget) -> KubernetesTarget:
    return k8s_target
