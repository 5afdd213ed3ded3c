"""Function pods are closed by default (docs/adr/0051): what a reviewer asks of the registered
NetworkPolicies, answered by a model of their semantics (tests/unit/infra/netpol_model.py) on
an EKS-like address plan, plus the selectors and the enforcing add-on themselves."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from engine.kubernetes import names
from infra.config import ConfigError, StackConfig
from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS
from infra.network_policies import FUNCTION_POD_LABELS, FUNCTION_PORT
from tests.fixtures.infra_stack import StackRun, run_stack, test_config
from tests.unit.infra.netpol_model import Address, Pod, Policies, Service
from tests.unit.infra.netpol_plan import (
    ALB_INTERFACE,
    CONTROL_PLANE,
    CONTROL_PLANE_SERVICE,
    DNS_SERVICE,
    ELSEWHERE,
    FUNCTION,
    FUNCTIONS_NS,
    INTERNET_HOST,
    KUBE_DNS,
    KUBE_PROXY,
    MONGODB,
    MONGODB_LABELS,
    MONGODB_SERVICE,
    NETWORK_POLICY,
    NODE,
    NODE_PORT,
    OTHER_FUNCTION,
    OTHER_FUNCTION_SERVICE,
    PLATFORM,
    S3,
    SYSTEM_NS,
    SYSTEM_OTHER,
    policies_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")


@pytest.fixture(scope="module")
def stack() -> StackRun:
    return run_stack(test_config)


@pytest.fixture(scope="module")
def policies(stack: StackRun) -> Policies:
    return policies_of(stack)


def _policy(stack: StackRun, name: str) -> dict[str, Any]:
    return stack.one(NETWORK_POLICY, name).inputs


# --- what the policies select ---------------------------------------------------------------


def test_policies_select_the_pods_the_function_stacks_label(stack: StackRun) -> None:
    assert FUNCTION_POD_LABELS.items() <= names.labels("fn-aaaaaaaaaaaaaaaaaaaaaa").items()
    assert FUNCTION_POD_LABELS.items() <= names.selector_labels("fn-aaaaaaaaaaaaaaaaaaaaaa").items()
    assert FUNCTION_PORT == names.CONTAINER_PORT
    in_functions = [
        r.inputs for r in stack.of_type(NETWORK_POLICY) if r.metadata["namespace"] == FUNCTIONS_NS
    ]
    assert {p["metadata"]["name"] for p in in_functions} == {
        "lambdaclone-functions-default-deny",
        "lambdaclone-functions-from-platform",
        "lambdaclone-functions-dns",
        "lambdaclone-functions-egress",
    }
    for policy in in_functions:
        assert policy["spec"]["podSelector"] == {"matchLabels": FUNCTION_POD_LABELS}


def test_function_pods_are_denied_everything_by_default(stack: StackRun) -> None:
    spec = _policy(stack, "lambdaclone-functions-default-deny")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in spec and "egress" not in spec


def test_the_control_plane_peer_needs_its_namespace_and_its_labels(stack: StackRun) -> None:
    spec = _policy(stack, "lambdaclone-functions-from-platform")["spec"]
    by_peer = {json.dumps(rule["from"], sort_keys=True): rule["ports"] for rule in spec["ingress"]}
    control_plane_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NS}},
        "podSelector": {"matchLabels": CONTROL_PLANE_LABELS},
    }
    vpc_peer = {"ipBlock": {"cidr": "10.0.0.0/16"}}
    assert set(by_peer) == {
        json.dumps([control_plane_peer], sort_keys=True),
        json.dumps([vpc_peer], sort_keys=True),
    }
    assert all(ports == [{"port": FUNCTION_PORT, "protocol": "TCP"}] for ports in by_peer.values())


# --- what a function may reach --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "port"),
    [
        (OTHER_FUNCTION, FUNCTION_PORT),
        (OTHER_FUNCTION_SERVICE, FUNCTION_PORT),
        (NODE, NODE_PORT),
        (ALB_INTERFACE, 80),
    ],
    ids=["pod", "service", "node-port", "internal-load-balancer"],
)
def test_a_function_cannot_reach_another_function(
    policies: Policies, target: Pod | Address | Service, port: int
) -> None:
    assert not policies.allows(FUNCTION, target, port)


@pytest.mark.parametrize(
    ("target", "port"),
    [(CONTROL_PLANE, 8000), (CONTROL_PLANE_SERVICE, 8000), *PLATFORM.values()],
    ids=["control-plane", "control-plane-service", *PLATFORM],
)
def test_a_function_cannot_reach_the_platform(
    policies: Policies, target: Pod | Address | Service, port: int
) -> None:
    """Without an in-cluster control plane (the default) not even its port is open; with one,
    tests/unit/infra/test_infra_network_policies_control_plane.py."""
    assert not policies.allows(FUNCTION, target, port)


def test_a_function_resolves_names_through_cluster_dns_only(policies: Policies) -> None:
    for protocol in ("UDP", "TCP"):
        assert policies.allows(FUNCTION, DNS_SERVICE, 53, protocol)
        assert policies.allows(FUNCTION, KUBE_DNS, 53, protocol)
    assert not policies.allows(FUNCTION, KUBE_DNS, 9153), "not CoreDNS's metrics"
    assert not policies.allows(FUNCTION, KUBE_PROXY, 53, "UDP"), "only CoreDNS's pods"


def test_a_function_reaches_the_internet_by_default(policies: Policies) -> None:
    assert policies.allows(FUNCTION, S3, 443)
    assert policies.allows(FUNCTION, INTERNET_HOST, 80)


# --- who may reach a function ---------------------------------------------------------------


def test_the_load_balancer_reaches_functions_on_their_port_only(policies: Policies) -> None:
    assert policies.allows(NODE, FUNCTION, FUNCTION_PORT), "instance mode, after kube-proxy"
    assert policies.allows(ALB_INTERFACE, FUNCTION, FUNCTION_PORT), "ip mode"
    assert not policies.allows(NODE, FUNCTION, 9000)
    assert not policies.allows(INTERNET_HOST, FUNCTION, FUNCTION_PORT)


def test_the_control_plane_reaches_functions(policies: Policies) -> None:
    assert policies.allows(CONTROL_PLANE, FUNCTION, FUNCTION_PORT)
    assert policies.allows(CONTROL_PLANE, OTHER_FUNCTION_SERVICE, FUNCTION_PORT)
    assert not policies.allows(CONTROL_PLANE, FUNCTION, 9000)


# --- MongoDB --------------------------------------------------------------------------------


def test_only_the_control_plane_reaches_mongodb(stack: StackRun, policies: Policies) -> None:
    statefulset = stack.one("kubernetes:apps/v1:StatefulSet", "mongodb").inputs
    assert statefulset["spec"]["template"]["metadata"]["labels"] == MONGODB_LABELS
    assert policies.allows(CONTROL_PLANE, MONGODB, 27017)
    assert policies.allows(CONTROL_PLANE, MONGODB_SERVICE, 27017)
    assert not policies.admits(FUNCTION, MONGODB, 27017), "even were its egress open"
    assert not policies.allows(SYSTEM_OTHER, MONGODB, 27017)
    assert not policies.allows(ELSEWHERE, MONGODB, 27017)
    assert not policies.allows(CONTROL_PLANE, MONGODB, 28017)


# --- configured egress ----------------------------------------------------------------------


def _with_egress(*cidrs: str) -> Callable[[], StackConfig]:
    return lambda: test_config(function_egress_cidrs=cidrs)


def test_closed_egress_leaves_only_dns() -> None:
    run = run_stack(_with_egress())
    assert "lambdaclone-functions-egress" not in {r.name for r in run.of_type(NETWORK_POLICY)}
    policies = policies_of(run)
    assert not policies.allows(FUNCTION, S3, 443)
    assert not policies.allows(FUNCTION, INTERNET_HOST, 80)
    assert policies.allows(FUNCTION, DNS_SERVICE, 53, "UDP")
    assert policies.allows(NODE, FUNCTION, FUNCTION_PORT), "ingress is unchanged"


def test_listed_cidrs_are_the_only_way_out_and_never_into_the_platform() -> None:
    policies = policies_of(run_stack(_with_egress("203.0.113.0/24", "10.0.0.0/8")))
    assert policies.allows(FUNCTION, Address("203.0.113.9"), 5432)
    assert policies.allows(FUNCTION, Address("10.1.2.3"), 5432), "a peered network"
    assert not policies.allows(FUNCTION, INTERNET_HOST, 443)
    assert not policies.allows(FUNCTION, CONTROL_PLANE, 8000), "the VPC stays excepted"
    assert not policies.allows(FUNCTION, Address("10.100.0.1"), 443), "and the Service ranges"


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.64.0/24", "lies inside 10.0.0.0/16"),
        ("172.20.0.0/16", "lies inside 172.20.0.0/16"),
        ("169.254.169.254/32", "lies inside 169.254.0.0/16"),
        ("::/0", "not IPv4"),
        ("10.0.0.1/8", "not a CIDR block"),
        ("anywhere", "not a CIDR block"),
    ],
)
def test_egress_that_would_open_the_platform_is_refused(cidr: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"functionEgressCidrs: .*{message}"):
        StackConfig(mongo_password="x" * 20, function_egress_cidrs=(cidr,))


# --- enforcement ----------------------------------------------------------------------------


def test_the_vpc_cni_add_on_enforces_network_policies(stack: StackRun) -> None:
    addon = stack.one("aws:eks/addon:Addon", "lambdaclone-vpc-cni").inputs
    assert addon["addonName"] == "vpc-cni"
    assert addon["clusterName"] == stack.outputs["clusterName"]
    assert json.loads(addon["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addon["resolveConflictsOnCreate"] == "OVERWRITE", "takes over the default CNI"
