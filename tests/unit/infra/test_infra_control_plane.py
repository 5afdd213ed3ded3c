"""The optional in-cluster control plane: closed by default, exposed only as configured, its
secrets only as secrets, and the extra access an in-cluster deployment gets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.infra_stack import (
    ALB_HOSTNAME,
    CONTROL_PLANE_IMAGE,
    RUNTIME_PYTHON,
    StackRun,
    control_plane_config,
    run_stack,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

FUNCTIONS_NS = "lambdaclone-functions"
SYSTEM_NS = "lambdaclone-system"


@pytest.fixture(scope="module")
def stack() -> StackRun:
    return run_stack(control_plane_config)


def _named(stack: StackRun, typ: str, name: str) -> dict[str, Any]:
    (resource,) = [r for r in stack.of_type(typ) if r.metadata.get("name") == name]
    return resource.inputs


def test_control_plane_runs_as_its_service_account(stack: StackRun) -> None:
    deployment = _named(stack, "kubernetes:apps/v1:Deployment", "lambdaclone-control-plane")
    assert deployment["metadata"]["namespace"] == SYSTEM_NS
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "lambdaclone-control-plane"
    (container,) = pod["containers"]
    assert container["image"] == CONTROL_PLANE_IMAGE, "by digest"
    env = {e["name"]: e for e in container["env"]}
    assert env["LAMBDACLONE_TARGET"]["value"] == "kubernetes"
    assert env["LAMBDACLONE_NAMESPACE"]["value"] == FUNCTIONS_NS
    assert env["LAMBDACLONE_K8S_SERVICE_ACCOUNT"]["value"] == "lambdaclone-function"
    assert env["LAMBDACLONE_CODE_STORE"]["value"] == "s3"
    assert env["LAMBDACLONE_S3_BUCKET"]["value"] == stack.outputs["codeBucket"]
    assert env["LAMBDACLONE_INGRESS_CLASS"]["value"] == "alb"
    assert env["LAMBDACLONE_INGRESS_GROUP"]["value"] == "lambdaclone"
    assert env["LAMBDACLONE_PULUMI_BACKEND_URL"]["value"].startswith(
        f"s3://{stack.outputs['codeBucket']}/pulumi-state"
    )
    for secret_env in (
        "LAMBDACLONE_MONGODB_URI",
        "LAMBDACLONE_PULUMI_PASSPHRASE",
        "LAMBDACLONE_ADMIN_TOKEN",
        "LAMBDACLONE_SECRET_KEY",
    ):
        assert "value" not in env[secret_env]
        assert env[secret_env]["valueFrom"]["secretKeyRef"]["name"]


def test_function_pods_fetch_artifacts_from_the_service_on_the_pods_own_port(
    stack: StackRun,
) -> None:
    """ADR 0048's init container downloads from this URL. The VPC CNI opens a Service to an
    egress rule on the first Service port targeting the rule's port, and only a port equal to
    its target is safe on EKS (docs/adr/0051): so that first port is the pod's, and the URL's."""
    deployment = _named(stack, "kubernetes:apps/v1:Deployment", "lambdaclone-control-plane")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    url = urlsplit(env["LAMBDACLONE_K8S_ARTIFACT_URL"])
    service = _named(stack, "kubernetes:core/v1:Service", "lambdaclone-control-plane")
    assert (url.scheme, url.hostname, url.path) == (
        "http",
        f"lambdaclone-control-plane.{SYSTEM_NS}.svc.cluster.local",
        "",
    )
    assert service["metadata"]["namespace"] == SYSTEM_NS
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
    (pod_port,) = container["ports"]
    assert url.port == pod_port["containerPort"] == int(env["LAMBDACLONE_PORT"])
    ports = service["spec"]["ports"]
    assert {p["targetPort"] for p in ports} == {url.port}, "every port leads to the pod's"
    assert ports[0]["port"] == url.port, "the first one is the pod's port itself"
    ingress = _named(stack, "kubernetes:networking.k8s.io/v1:Ingress", "lambdaclone-control-plane")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    by_name = {p["name"]: p["port"] for p in ports}
    assert by_name[path["backend"]["service"]["port"]["name"]] == 80, "the Ingress's is kept"


def test_in_cluster_control_plane_may_also_use_the_state_prefix(stack: StackRun) -> None:
    policy = stack.one("aws:iam/rolePolicy:RolePolicy", "lambdaclone-control-plane-s3")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    objects = next(s for s in statements if s["Sid"] == "CodeObjects")
    bucket_arn = stack.one("aws:s3/bucket:Bucket").state["arn"]
    assert objects["Resource"] == [f"{bucket_arn}/functions/*", f"{bucket_arn}/pulumi-state/*"]


def test_no_service_is_exposed_and_no_cluster_rbac_even_with_control_plane(
    stack: StackRun,
) -> None:
    for service in stack.of_type("kubernetes:core/v1:Service"):
        assert service.inputs["spec"]["type"] == "ClusterIP"
    types = set(stack.types())
    assert "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole" not in types
    assert "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding" not in types


def test_outside_control_plane_principals_get_only_the_group(stack: StackRun) -> None:
    entries = {r.name: r.inputs for r in stack.of_type("aws:eks/accessEntry:AccessEntry")}
    control_plane = entries["lambdaclone-control-plane-0"]
    assert control_plane["kubernetesGroups"] == ["lambdaclone:control-plane"]
    (association,) = stack.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["principalArn"] == "arn:aws:iam::123456789012:role/platform-admin"


def test_network_follows_the_configured_zones_and_ha_nat(stack: StackRun) -> None:
    zones = {
        s.inputs["availabilityZone"]
        for s in stack.of_type("aws:ec2/subnet:Subnet")
        if "private" in s.name
    }
    assert zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert len(stack.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert stack.calls == [], "explicit zones need no lookup"
    assert stack.outputs["region"] == "eu-west-1"


def test_control_plane_hostname_is_exported(stack: StackRun) -> None:
    assert stack.outputs["controlPlaneHostname"] == ALB_HOSTNAME


def test_control_plane_runs_non_root_on_a_read_only_root(stack: StackRun) -> None:
    deployment = _named(stack, "kubernetes:apps/v1:Deployment", "lambdaclone-control-plane")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/var/lib/lambdaclone"]]["emptyDir"] == {}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LAMBDACLONE_DATA_DIR"] == "/var/lib/lambdaclone/data", "its own, not root's"
    assert volumes[mounts["/tmp"]]["emptyDir"] == {}
    assert "nodeSelector" not in pod and "tolerations" not in pod, "any EKS node"


def test_control_plane_names_runtime_images_from_the_lock(stack: StackRun) -> None:
    configmap = _named(stack, "kubernetes:core/v1:ConfigMap", "lambdaclone-control-plane-images")
    assert json.loads(configmap["data"]["images.lock.json"])["images"]["runtime-python:3.12"] == (
        RUNTIME_PYTHON
    )
    deployment = _named(stack, "kubernetes:apps/v1:Deployment", "lambdaclone-control-plane")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LAMBDACLONE_IMAGE_REGISTRY"] == "/etc/lambdaclone/images/images.lock.json"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    images = mounts["/etc/lambdaclone/images"]
    assert images["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[images["name"]]["configMap"]["name"] == "lambdaclone-control-plane-images"
