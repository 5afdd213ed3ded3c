"""The base stack's NetworkPolicies, exactly as it registers them, pass a real kube-apiserver's
validation (server-side dry run on the session's test cluster).

The test cluster's CNI (bridge) enforces no NetworkPolicy, so this proves the objects are
valid — `except` blocks inside their `cidr`, ports, selectors — not that traffic is blocked;
what they allow is checked in tests/unit/infra/test_infra_network_policies.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.infra_stack import run_stack, test_config
from tests.fixtures.kube import KubeCluster

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning"),
]

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _integers(value: Any) -> Any:
    """Mock inputs carry numbers as floats; the API wants ports as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers(item) for item in value]
    return value


@pytest.fixture
def manifests(kube_cluster: KubeCluster) -> Iterator[list[dict[str, Any]]]:
    """The stack's policies, in two namespaces of this test's own (created, then removed)."""
    suffix = secrets.token_hex(3)
    functions, system = f"np-functions-{suffix}", f"np-system-{suffix}"
    run = run_stack(lambda: test_config(functions_namespace=functions, system_namespace=system))
    for namespace in (functions, system):
        kube_cluster.kubectl("create", "namespace", namespace)
    try:
        yield [_integers(r.inputs) for r in run.of_type(NETWORK_POLICY)]
    finally:
        for namespace in (functions, system):
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def _dry_run(kube_cluster: KubeCluster, manifest: dict[str, Any]) -> dict[str, Any]:
    out = kube_cluster.kubectl(
        "create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(manifest)
    )
    created: dict[str, Any] = json.loads(out)
    return created


def test_the_api_server_accepts_every_policy(
    kube_cluster: KubeCluster, manifests: list[dict[str, Any]]
) -> None:
    assert len(manifests) == 5, [m["metadata"]["name"] for m in manifests]
    for manifest in manifests:
        created = _dry_run(kube_cluster, manifest)
        assert created["metadata"]["name"] == manifest["metadata"]["name"]
        assert created["spec"]["podSelector"] == manifest["spec"]["podSelector"]
        assert created["spec"]["policyTypes"] == manifest["spec"]["policyTypes"]
        for key in ("ingress", "egress"):
            assert created["spec"].get(key) == manifest["spec"].get(key), manifest["metadata"]


def test_the_api_server_checks_what_the_stack_computes(
    kube_cluster: KubeCluster, manifests: list[dict[str, Any]]
) -> None:
    """The dry run validates for real: an `except` outside its block is refused, so the
    blocks the stack computes (tests/unit/infra) would be refused too if they were wrong."""
    (egress,) = [m for m in manifests if m["metadata"]["name"].endswith("-egress")]
    (rule,) = egress["spec"]["egress"]
    (peer,) = rule["to"]
    peer["ipBlock"]["cidr"] = "203.0.113.0/24"
    with pytest.raises(RuntimeError, match="must be a strict subset"):
        _dry_run(kube_cluster, egress)
