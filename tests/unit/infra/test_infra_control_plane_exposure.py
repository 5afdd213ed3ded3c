"""Safe by default: who can reach the in-cluster control plane, over what, under which names,
and where its admin token and secret-sealing key go (issue 10, docs/adr/0044)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.infra_stack import (
    ADMIN_TOKEN,
    CERTIFICATE,
    CONSOLE_ORIGIN,
    OFFICE_CIDR,
    PUBLIC_HOSTS,
    SECRET_KEY,
    StackRun,
    control_plane_config,
    public_control_plane_config,
    run_stack,
)
from tests.fixtures.pulumi_mocks import Registered, is_secret_input

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

NAME = "lambdaclone-control-plane"
SYSTEM_NS = "lambdaclone-system"
VPC_CIDR = "10.0.0.0/16"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
CLASS_PARAMS = "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
ALB = "alb.ingress.kubernetes.io"


@pytest.fixture(scope="module")
def closed() -> StackRun:
    return run_stack(control_plane_config)


@pytest.fixture(scope="module")
def public() -> StackRun:
    return run_stack(public_control_plane_config)


def _named(stack: StackRun, typ: str, name: str) -> Registered:
    (resource,) = [r for r in stack.of_type(typ) if r.metadata.get("name") == name]
    return resource


def _container(stack: StackRun) -> dict[str, Any]:
    pod = _named(stack, DEPLOYMENT, NAME).inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return dict(container)


def _env(stack: StackRun) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in _container(stack)["env"]}


def _params(stack: StackRun) -> dict[str, Any]:
    return dict(_named(stack, CLASS_PARAMS, "alb-control-plane").inputs["spec"])


# --- reachable from where -------------------------------------------------------------------


def test_by_default_the_control_plane_is_internal_and_admits_only_the_vpc(
    closed: StackRun,
) -> None:
    ingress = _named(closed, INGRESS, NAME).inputs
    assert ingress["spec"]["ingressClassName"] == "alb-control-plane"
    params = _params(closed)
    assert params["scheme"] == "internal"
    assert params["inboundCIDRs"] == [VPC_CIDR]
    assert params["group"] == {"name": "lambdaclone-control-plane"}, "not the functions' ALB"
    (selector,) = params["namespaceSelector"]["matchExpressions"]
    assert selector["values"] == [SYSTEM_NS]
    ingress_class = _named(closed, INGRESS_CLASS, "alb-control-plane").inputs["spec"]
    assert ingress_class["controller"] == "ingress.k8s.aws/alb"
    assert ingress_class["parameters"]["name"] == "alb-control-plane"
    annotations = ingress["metadata"]["annotations"]
    assert json.loads(annotations[f"{ALB}/listen-ports"]) == [{"HTTP": 80}]
    assert f"{ALB}/certificate-arn" not in annotations
    assert f"{ALB}/group.name" not in annotations and f"{ALB}/scheme" not in annotations


def test_the_functions_alb_admits_no_ingress_of_the_system_namespace(closed: StackRun) -> None:
    release = closed.one("kubernetes:helm.sh/v3:Release")
    params = release.inputs["values"]["ingressClassParams"]["spec"]
    assert params["scheme"] == "internet-facing", "/endpoint/* stays public"
    (selector,) = params["namespaceSelector"]["matchExpressions"]
    assert selector["values"] == ["lambdaclone-functions"]
    ingresses = [i for i in closed.of_type(INGRESS) if i.metadata["namespace"] == SYSTEM_NS]
    assert all(i.inputs["spec"]["ingressClassName"] != "alb" for i in ingresses)


def test_exposed_it_is_internet_facing_only_to_the_listed_cidrs_over_https(
    public: StackRun,
) -> None:
    params = _params(public)
    assert params["scheme"] == "internet-facing"
    assert params["inboundCIDRs"] == [OFFICE_CIDR]
    assert params["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    annotations = _named(public, INGRESS, NAME).inputs["metadata"]["annotations"]
    assert annotations[f"{ALB}/certificate-arn"] == CERTIFICATE
    assert json.loads(annotations[f"{ALB}/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert annotations[f"{ALB}/ssl-redirect"] == "443", "plain HTTP only redirects"


def test_exposed_it_routes_only_its_host_names(public: StackRun) -> None:
    rules = _named(public, INGRESS, NAME).inputs["spec"]["rules"]
    assert [rule["host"] for rule in rules] == list(PUBLIC_HOSTS)
    for rule in rules:
        (path,) = rule["http"]["paths"]
        assert path["path"] == "/" and path["backend"]["service"]["name"] == NAME


def test_the_load_balancer_health_check_needs_no_token(closed: StackRun) -> None:
    annotations = _named(closed, INGRESS, NAME).inputs["metadata"]["annotations"]
    assert annotations[f"{ALB}/healthcheck-path"] == "/console/login"
    assert annotations[f"{ALB}/success-codes"] == "200"


# --- which names it answers for ---------------------------------------------------------------


def test_allowed_hosts_are_named_never_any(closed: StackRun, public: StackRun) -> None:
    service_names = {NAME, f"{NAME}.{SYSTEM_NS}", f"{NAME}.{SYSTEM_NS}.svc"}
    closed_hosts = _env(closed)["LAMBDACLONE_ALLOWED_HOSTS"]["value"].split(",")
    assert set(closed_hosts) == {*service_names, "127.0.0.1", "localhost", "$(POD_IP)"}
    public_hosts = _env(public)["LAMBDACLONE_ALLOWED_HOSTS"]["value"].split(",")
    assert set(public_hosts) == {
        *PUBLIC_HOSTS,
        *service_names,
        "127.0.0.1",
        "localhost",
        "$(POD_IP)",
    }
    assert "*" not in closed_hosts + public_hosts
    assert _env(public)["LAMBDACLONE_PUBLIC_URL"]["value"] == f"https://{PUBLIC_HOSTS[0]}"


def test_cors_is_off_unless_origins_are_configured(closed: StackRun, public: StackRun) -> None:
    assert "LAMBDACLONE_CORS_ORIGINS" not in _env(closed)
    assert _env(public)["LAMBDACLONE_CORS_ORIGINS"]["value"] == CONSOLE_ORIGIN


def test_the_pod_ip_is_defined_before_the_hosts_that_expand_it(closed: StackRun) -> None:
    names = [e["name"] for e in _container(closed)["env"]]
    assert names.index("POD_IP") < names.index("LAMBDACLONE_ALLOWED_HOSTS")
    pod_ip = _env(closed)["POD_IP"]["valueFrom"]["fieldRef"]
    assert pod_ip["fieldPath"] == "status.podIP"


def test_only_the_vpc_may_set_forwarded_headers(closed: StackRun) -> None:
    assert _env(closed)["LAMBDACLONE_FORWARDED_ALLOW_IPS"]["value"] == VPC_CIDR


# --- its secrets ------------------------------------------------------------------------------


def test_admin_token_and_secret_key_come_from_a_secret_by_reference(closed: StackRun) -> None:
    env = _env(closed)
    auth = _named(closed, SECRET, f"{NAME}-auth")
    assert auth.metadata["namespace"] == SYSTEM_NS
    for name, key, value in (
        ("LAMBDACLONE_ADMIN_TOKEN", "admin-token", ADMIN_TOKEN),
        ("LAMBDACLONE_SECRET_KEY", "secret-key", SECRET_KEY),
    ):
        assert "value" not in env[name], "never a plain env value"
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (f"{NAME}-auth", key)
        assert auth.inputs["stringData"][key] == value
    assert is_secret_input(auth.raw_inputs["stringData"]), "Pulumi secrets in the state"


def _plain_parts(value: Any) -> Any:
    """Inputs with every Pulumi secret left out: what the state and previews show in clear."""
    if is_secret_input(value):
        return None
    if isinstance(value, dict):
        return {key: _plain_parts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_parts(item) for item in value]
    return value


@pytest.mark.parametrize("canary", [ADMIN_TOKEN, SECRET_KEY])
def test_the_values_appear_nowhere_but_as_secrets(closed: StackRun, canary: str) -> None:
    holders = [r for r in closed.resources if canary in json.dumps(r.inputs)]
    assert [(r.type, r.name) for r in holders] == [(SECRET, f"{NAME}-auth")]
    for resource in closed.resources:
        assert canary not in json.dumps(_plain_parts(resource.raw_inputs)), resource.name
    for name, value in closed.outputs.items():
        assert name in closed.secret_outputs or canary not in json.dumps(value), name


def test_the_url_to_reach_it_is_exported(closed: StackRun, public: StackRun) -> None:
    assert closed.outputs["controlPlaneUrl"] == f"http://{closed.outputs['controlPlaneHostname']}"
    assert public.outputs["controlPlaneUrl"] == f"https://{PUBLIC_HOSTS[0]}"
