"""The optional in-cluster control plane, and the extra access an in-cluster deployment gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import StackConfig
from tests.fixtures.infra_stack import ALB_HOSTNAME, StackRun, run_stack, test_config

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lambdaclone:1.0.0"
FUNCTIONS_NS = "lambdaclone-functions"
SYSTEM_NS = "lambdaclone-system"


def _config() -> StackConfig:
    return test_config(
        deploy_control_plane=True,
        control_plane_image=IMAGE,
        pulumi_passphrase="a-long-passphrase-for-the-function-stacks",
        availability_zones=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        region="eu-west-1",
        single_nat_gateway=False,
        control_plane_principal_arns=("arn:aws:iam::123456789012:role/lambdaclone-api",),
        cluster_admin_arns=("arn:aws:iam::123456789012:role/platform-admin",),
    )


@pytest.fixture(scope="module")
def stack() -> StackRun:
    return run_stack(_config)


def _named(stack: StackRun, typ: str, name: str) -> dict[str, Any]:
    (resource,) = [r for r in stack.of_type(typ) if r.metadata.get("name") == name]
    return resource.inputs


def test_control_plane_runs_as_its_service_account(stack: StackRun) -> None:
    deployment = _named(stack, "kubernetes:apps/v1:Deployment", "lambdaclone-control-plane")
    assert deployment["metadata"]["namespace"] == SYSTEM_NS
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "lambdaclone-control-plane"
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
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
    for secret_env in ("LAMBDACLONE_MONGODB_URI", "LAMBDACLONE_PULUMI_PASSPHRASE"):
        assert "value" not in env[secret_env]
        assert env[secret_env]["valueFrom"]["secretKeyRef"]["name"]


def test_control_plane_is_reached_only_through_the_shared_alb(stack: StackRun) -> None:
    service = _named(stack, "kubernetes:core/v1:Service", "lambdaclone-control-plane")
    assert service["spec"]["type"] == "ClusterIP"
    ingress = _named(stack, "kubernetes:networking.k8s.io/v1:Ingress", "lambdaclone-control-plane")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/group.name"] == "lambdaclone"
    assert int(annotations["alb.ingress.kubernetes.io/group.order"]) > 0, "functions' rules win"
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"]["name"] == "lambdaclone-control-plane"
    assert "mongodb" not in json.dumps(ingress)


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
