"""With the control plane in the cluster, function pods may reach it on its port, and only there
(docs/adr/0051): their init container downloads built packages from its `/internal/artifacts`
(docs/adr/0048) at the URL the stack gives it. Everything else stays as closed as without it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS
from infra.network_policies import FUNCTION_POD_LABELS, FUNCTION_PORT
from tests.fixtures.infra_stack import StackRun, control_plane_config, run_stack
from tests.unit.infra.netpol_model import Address, Pod, Policies, Service
from tests.unit.infra.netpol_plan import (
    CONTROL_PLANE,
    DNS_SERVICE,
    FUNCTION,
    FUNCTIONS_NS,
    INTERNET_HOST,
    MONGODB,
    NETWORK_POLICY,
    NODE,
    OTHER_FUNCTION,
    OTHER_FUNCTION_SERVICE,
    PLATFORM,
    SYSTEM_NS,
    SYSTEM_OTHER,
    policies_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

IMPOSTOR = Pod(FUNCTIONS_NS, CONTROL_PLANE_LABELS, "10.0.9.90")
"""A pod carrying the control plane's labels outside the system namespace."""


@pytest.fixture(scope="module")
def stack() -> StackRun:
    return run_stack(control_plane_config)


@pytest.fixture(scope="module")
def policies(stack: StackRun) -> Policies:
    return policies_of(stack)


def _artifact_url(stack: StackRun) -> tuple[str, int]:
    (deployment,) = stack.of_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    url = urlsplit(env["LAMBDACLONE_K8S_ARTIFACT_URL"])
    assert url.hostname and url.port
    return url.hostname, url.port


def _service(stack: StackRun, rule_port: int) -> Service:
    """The control plane's registered Service as the model's same-port Service. The VPC CNI's
    policy controller opens a ClusterIP to an egress rule on the *first* Service port whose
    target is the rule's port (amazon-network-policy-controller-k8s, `LookupServiceListenPort`),
    which the model gets right only when that port equals its target."""
    (registered,) = [
        r
        for r in stack.of_type("kubernetes:core/v1:Service")
        if r.name == "lambdaclone-control-plane"
    ]
    first = next(p for p in registered.inputs["spec"]["ports"] if p["targetPort"] == rule_port)
    assert first["port"] == rule_port, first
    return Service("172.20.14.2", CONTROL_PLANE)


def test_the_control_plane_rule_selects_function_pods_and_names_one_peer(stack: StackRun) -> None:
    spec = stack.one(NETWORK_POLICY, "lambdaclone-functions-to-control-plane").inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": FUNCTION_POD_LABELS}
    assert spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NS}},
            "podSelector": {"matchLabels": CONTROL_PLANE_LABELS},
        }
    ]
    _, port = _artifact_url(stack)
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]


def test_a_function_reaches_the_artifact_url_through_the_service_and_the_pod(
    stack: StackRun, policies: Policies
) -> None:
    host, port = _artifact_url(stack)
    assert host == f"lambdaclone-control-plane.{SYSTEM_NS}.svc.cluster.local"
    service = _service(stack, port)
    assert policies.allows(FUNCTION, service, port)
    assert policies.allows(FUNCTION, CONTROL_PLANE, port)
    assert policies.allows(FUNCTION, DNS_SERVICE, 53, "UDP"), "and resolves its name"


@pytest.mark.parametrize(("port", "protocol"), [(80, "TCP"), (443, "TCP"), (9000, "TCP")])
def test_a_function_reaches_the_control_plane_on_no_other_port(
    stack: StackRun, policies: Policies, port: int, protocol: str
) -> None:
    for target in (_service(stack, 8000), CONTROL_PLANE):
        assert not policies.allows(FUNCTION, target, port, protocol)


def test_the_rule_opens_only_the_control_plane_s_pods(stack: StackRun, policies: Policies) -> None:
    _, port = _artifact_url(stack)
    assert not policies.allows(FUNCTION, CONTROL_PLANE, port, "UDP")
    for other in (SYSTEM_OTHER, MONGODB, IMPOSTOR, OTHER_FUNCTION, OTHER_FUNCTION_SERVICE, NODE):
        assert not policies.allows(FUNCTION, other, port), other
    assert not policies.allows(FUNCTION, Address("10.0.77.7"), port), "nor the VPC on that port"


@pytest.mark.parametrize(("target", "port"), PLATFORM.values(), ids=list(PLATFORM))
def test_the_rest_of_the_platform_stays_closed(
    policies: Policies, target: Pod | Address | Service, port: int
) -> None:
    assert not policies.allows(FUNCTION, target, port)


def test_functions_stay_closed_to_each_other_and_open_to_the_platform(policies: Policies) -> None:
    assert not policies.allows(FUNCTION, OTHER_FUNCTION, FUNCTION_PORT)
    assert not policies.allows(FUNCTION, OTHER_FUNCTION_SERVICE, FUNCTION_PORT)
    assert policies.allows(CONTROL_PLANE, FUNCTION, FUNCTION_PORT)
    assert policies.allows(NODE, FUNCTION, FUNCTION_PORT)
    assert policies.allows(FUNCTION, INTERNET_HOST, 443)
