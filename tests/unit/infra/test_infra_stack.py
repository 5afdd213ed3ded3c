"""The base stack's security and wiring properties, checked on what it registers under mocks."""

from __future__ import annotations

import ipaddress
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from infra.alb_controller import SERVICE_ACCOUNT as ALB_SERVICE_ACCOUNT
from infra.config import CONTROL_PLANE_GROUP, IMAGE_REPOSITORIES
from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS
from infra.outputs import OUTPUT_NAMES, SECRET_OUTPUTS
from tests.fixtures.infra_stack import (
    ISSUER_HOST,
    TEST_PASSWORD,
    ZONES,
    StackRun,
    run_stack,
    test_config,
)
from tests.fixtures.pulumi_mocks import Registered, is_secret_input

BUCKET = "aws:s3/bucket:Bucket"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ROLE = "aws:iam/role:Role"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
K8S_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
FUNCTIONS_NS = "lambdaclone-functions"
SYSTEM_NS = "lambdaclone-system"

# pulumi-aws warns about its own deprecated S3 aliases when the module loads; we use none of them.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")


@pytest.fixture(scope="module")
def stack() -> StackRun:
    return run_stack(test_config)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_named(stack: StackRun, name: str) -> Registered:
    return stack.one(ROLE, name)


# --- bucket ---------------------------------------------------------------------------------


def test_bucket_blocks_every_kind_of_public_access(stack: StackRun) -> None:
    block = stack.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert block["blockPublicAcls"] is True
    assert block["blockPublicPolicy"] is True
    assert block["ignorePublicAcls"] is True
    assert block["restrictPublicBuckets"] is True
    assert block["bucket"] == "lambdaclone-code-id"


def test_bucket_has_acls_disabled_and_no_public_acl(stack: StackRun) -> None:
    bucket = stack.one(BUCKET).inputs
    assert bucket.get("acl") in (None, "private")
    assert "grants" not in bucket
    ownership = stack.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for acl in stack.of_type("aws:s3/bucketAcl:BucketAcl"):
        assert acl.inputs.get("acl") == "private"


def test_bucket_is_encrypted_at_rest(stack: StackRun) -> None:
    sse = stack.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs
    (rule,) = sse["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("aws:kms", "AES256")
    assert sse["bucket"] == "lambdaclone-code-id"


def test_bucket_is_versioned(stack: StackRun) -> None:
    versioning = stack.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"


def test_bucket_policy_denies_plain_http(stack: StackRun) -> None:
    policy = stack.one("aws:s3/bucketPolicy:BucketPolicy").json_input("policy")
    (deny,) = _statements(policy)
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    bucket_arn = stack.one(BUCKET).state["arn"]
    assert set(deny["Resource"]) == {bucket_arn, f"{bucket_arn}/*"}
    assert all(s["Effect"] == "Deny" for s in _statements(policy)), "no Allow to anyone"


def test_bucket_name_comes_from_the_prefix_and_is_exported(stack: StackRun) -> None:
    bucket = stack.one(BUCKET)
    assert bucket.inputs["bucketPrefix"] == "lambdaclone-code-"
    assert bucket.inputs.get("forceDestroy") is False
    assert stack.outputs["codeBucket"] == bucket.state["bucket"]


# --- IRSA and the ALB controller ------------------------------------------------------------


def _trust(role: Registered) -> dict[str, Any]:
    (statement,) = _statements(role.json_input("assumeRolePolicy"))
    return dict(statement)


def test_alb_controller_role_trusts_only_its_service_account(stack: StackRun) -> None:
    oidc_arn = stack.one(OIDC).state["arn"]
    statement = _trust(_role_named(stack, "lambdaclone-alb-controller"))
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": oidc_arn}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER_HOST}:sub": f"system:serviceaccount:kube-system:{ALB_SERVICE_ACCOUNT}",
            f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
        }
    }
    assert ALB_SERVICE_ACCOUNT == "aws-load-balancer-controller"


def test_every_irsa_role_is_pinned_to_one_service_account(stack: StackRun) -> None:
    expected = {
        "lambdaclone-alb-controller": "kube-system:aws-load-balancer-controller",
        "lambdaclone-ebs-csi": "kube-system:ebs-csi-controller-sa",
        "lambdaclone-control-plane": f"{SYSTEM_NS}:lambdaclone-control-plane",
        "lambdaclone-function": f"{FUNCTIONS_NS}:lambdaclone-function",
    }
    oidc_arn = stack.one(OIDC).state["arn"]
    for name, subject in expected.items():
        statement = _trust(_role_named(stack, name))
        assert statement["Principal"] == {"Federated": oidc_arn}
        conditions = statement["Condition"]
        assert list(conditions) == ["StringEquals"], "no StringLike wildcards"
        assert conditions["StringEquals"][f"{ISSUER_HOST}:sub"] == (
            f"system:serviceaccount:{subject}"
        )
        assert conditions["StringEquals"][f"{ISSUER_HOST}:aud"] == "sts.amazonaws.com"


def test_oidc_provider_is_the_cluster_issuer_for_sts(stack: StackRun) -> None:
    oidc = stack.one(OIDC).inputs
    assert oidc["url"] == f"https://{ISSUER_HOST}"
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"]


def test_alb_controller_service_account_carries_the_role(stack: StackRun) -> None:
    role_arn = _role_named(stack, "lambdaclone-alb-controller").state["arn"]
    (sa,) = [
        r
        for r in stack.of_type("kubernetes:core/v1:ServiceAccount")
        if r.metadata["name"] == ALB_SERVICE_ACCOUNT
    ]
    assert sa.metadata["namespace"] == "kube-system"
    assert sa.metadata["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}


def test_alb_controller_chart_uses_our_service_account_cluster_and_vpc(stack: StackRun) -> None:
    release = stack.one("kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == "aws-load-balancer-controller"
    assert release["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert release["namespace"] == "kube-system"
    assert release["version"]
    values = release["values"]
    assert values["clusterName"] == stack.outputs["clusterName"] == "lambdaclone"
    assert values["serviceAccount"] == {"create": False, "name": ALB_SERVICE_ACCOUNT}
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == stack.outputs["vpcId"] == "lambdaclone-vpc-id"
    params = values["ingressClassParams"]["spec"]
    assert values["ingressClass"] == stack.outputs["ingressClass"] == "alb"
    assert params["group"] == {"name": stack.outputs["ingressGroup"]}
    assert params["scheme"] == "internet-facing"
    (selector,) = params["namespaceSelector"]["matchExpressions"]
    assert selector["values"] == [FUNCTIONS_NS], "the control plane never joins this ALB"


def test_alb_controller_policy_limits_writes_to_resources_it_tagged(stack: StackRun) -> None:
    policy = stack.one("aws:iam/policy:Policy", "lambdaclone-alb-controller").json_input("policy")
    deletes = [
        s
        for s in _statements(policy)
        if "elasticloadbalancing:DeleteLoadBalancer" in _as_list(s["Action"])
        or "ec2:DeleteSecurityGroup" in _as_list(s["Action"])
    ]
    assert deletes
    for statement in deletes:
        assert statement["Condition"]["Null"] == {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}
    actions = {a for s in _statements(policy) for a in _as_list(s["Action"])}
    assert "elasticloadbalancing:DescribeListenerAttributes" in actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)


# --- MongoDB --------------------------------------------------------------------------------


def test_mongodb_service_is_cluster_internal(stack: StackRun) -> None:
    (service,) = [r for r in stack.of_type(SERVICE) if r.metadata["name"] == "mongodb"]
    assert service.metadata["namespace"] == SYSTEM_NS
    assert service.inputs["spec"]["type"] == "ClusterIP"
    assert all("nodePort" not in port for port in service.inputs["spec"]["ports"])


def test_no_service_of_ours_is_exposed_outside_the_cluster(stack: StackRun) -> None:
    for service in stack.of_type(SERVICE):
        assert service.inputs["spec"].get("type", "ClusterIP") == "ClusterIP", service.name


def test_no_ingress_routes_to_mongodb(stack: StackRun) -> None:
    for ingress in stack.of_type(INGRESS):
        assert "mongodb" not in json.dumps(ingress.inputs["spec"])


def test_only_the_control_plane_pods_may_connect_to_mongodb(stack: StackRun) -> None:
    policy = stack.one(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy", "mongodb-control-plane-only"
    ).inputs
    assert policy["metadata"]["namespace"] == SYSTEM_NS
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mongodb"
    (rule,) = policy["spec"]["ingress"]
    control_plane = {"matchLabels": CONTROL_PLANE_LABELS}
    assert rule["from"] == [{"podSelector": control_plane}], "its namespace, its labels"
    assert rule["ports"] == [{"port": 27017, "protocol": "TCP"}]


def test_mongodb_runs_mongo7_on_a_persistent_volume(stack: StackRun) -> None:
    sts = stack.one("kubernetes:apps/v1:StatefulSet").inputs
    assert sts["metadata"]["namespace"] == SYSTEM_NS
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "mongo:7"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "gp3"
    assert {"name": "data", "mountPath": "/data/db"} in container["volumeMounts"]
    env_names = {env["name"] for env in container["env"]}
    assert env_names == {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"}
    assert all("value" not in env for env in container["env"]), "credentials come from the Secret"


def test_mongodb_credentials_live_in_a_secret(stack: StackRun) -> None:
    secret = stack.one("kubernetes:core/v1:Secret")
    assert secret.metadata["namespace"] == SYSTEM_NS
    data = secret.inputs["stringData"]
    assert data["MONGO_INITDB_ROOT_PASSWORD"] == TEST_PASSWORD
    assert TEST_PASSWORD in data["uri"]
    assert is_secret_input(secret.raw_inputs["stringData"]), "sent to the engine as a secret"


def test_storage_class_is_encrypted_ebs(stack: StackRun) -> None:
    sc = stack.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["encrypted"] == "true"
    addon = stack.one("aws:eks/addon:Addon", "lambdaclone-ebs-csi").inputs
    assert addon["addonName"] == "aws-ebs-csi-driver"
    assert addon["serviceAccountRoleArn"] == _role_named(stack, "lambdaclone-ebs-csi").state["arn"]


# --- RBAC and the control plane's / functions' identities ------------------------------------


def test_no_cluster_wide_rbac_is_created(stack: StackRun) -> None:
    types = set(stack.types())
    assert "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole" not in types
    assert "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding" not in types


def test_control_plane_role_lives_in_the_functions_namespace(stack: StackRun) -> None:
    role = stack.one(K8S_ROLE)
    binding = stack.one(K8S_ROLE_BINDING)
    assert role.metadata["namespace"] == FUNCTIONS_NS
    assert binding.metadata["namespace"] == FUNCTIONS_NS
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role.metadata["name"],
    }
    subjects = {(s["kind"], s["name"], s.get("namespace")) for s in binding.inputs["subjects"]}
    assert subjects == {
        ("ServiceAccount", "lambdaclone-control-plane", SYSTEM_NS),
        ("Group", CONTROL_PLANE_GROUP, None),
    }


def test_control_plane_may_only_write_per_function_objects(stack: StackRun) -> None:
    rules = stack.one(K8S_ROLE).inputs["rules"]
    writable: set[tuple[str, str]] = set()
    readable: set[tuple[str, str]] = set()
    write_verbs = {"create", "update", "patch", "delete"}
    for rule in rules:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]
        assert "*" not in rule["apiGroups"]
        pairs = {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
        if write_verbs & set(rule["verbs"]):
            assert set(rule["verbs"]) == {"get", "list", "watch", *write_verbs}
            writable |= pairs
        elif rule["resources"] == ["pods/log"]:
            assert rule["verbs"] == ["get"], "logs are read, never streamed for others"
            readable |= pairs
        else:
            assert set(rule["verbs"]) == {"get", "list", "watch"}
            readable |= pairs
    assert writable == {
        ("apps", "deployments"),
        ("", "services"),
        ("", "configmaps"),
        ("", "secrets"),  # a function's secret values, as the kubernetes target stores them
        ("networking.k8s.io", "ingresses"),
    }
    # Read-only: what a rollout is watched through, and the pods' logs; nothing else.
    assert readable == {
        ("", "pods"),
        ("", "pods/log"),
        ("", "endpoints"),
        ("", "events"),
        ("apps", "replicasets"),
    }
    rule_of_logs = next(r for r in rules if r["resources"] == ["pods/log"])
    assert rule_of_logs["verbs"] == ["get"]


def test_control_plane_cannot_exec_or_touch_rbac_or_run_bare_pods(stack: StackRun) -> None:
    """Each of these would let it act beyond its Role: a shell in a pod, more rights, or a
    pod outside a Deployment."""
    rules = stack.one(K8S_ROLE).inputs["rules"]
    for rule in rules:
        resources = set(rule["resources"])
        assert not resources & {"pods/exec", "pods/attach", "pods/portforward", "roles"}
        assert not resources & {"rolebindings", "serviceaccounts", "serviceaccounts/token"}
        if "pods" in resources:
            assert set(rule["verbs"]) == {"get", "list", "watch"}
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])


def _inline_policy(stack: StackRun, name: str) -> list[dict[str, Any]]:
    policy = stack.one("aws:iam/rolePolicy:RolePolicy", name).json_input("policy")
    return _statements(policy)


def test_control_plane_s3_access_is_limited_to_function_code(stack: StackRun) -> None:
    bucket_arn = stack.one(BUCKET).state["arn"]
    statements = _inline_policy(stack, "lambdaclone-control-plane-s3")
    objects = next(s for s in statements if s["Sid"] == "CodeObjects")
    assert {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"} <= set(objects["Action"])
    assert all(a.startswith("s3:") and "*" not in a for a in objects["Action"])
    assert objects["Resource"] == [f"{bucket_arn}/functions/*"]
    listing = next(s for s in statements if s["Sid"] == "ListCodeObjects")
    assert listing["Resource"] == bucket_arn
    assert set(listing["Action"]) <= {"s3:ListBucket", "s3:ListBucketVersions"}
    assert {s["Sid"] for s in statements} == {"CodeObjects", "ListCodeObjects"}
    assert all(s["Effect"] == "Allow" for s in statements)
    role = stack.one("aws:iam/rolePolicy:RolePolicy", "lambdaclone-control-plane-s3")
    assert role.inputs["role"] == "lambdaclone-control-plane-id"


def test_function_pods_can_only_read_code(stack: StackRun) -> None:
    bucket_arn = stack.one(BUCKET).state["arn"]
    (statement,) = _inline_policy(stack, "lambdaclone-function-s3")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"{bucket_arn}/functions/*"


def test_service_accounts_are_annotated_with_their_roles(stack: StackRun) -> None:
    accounts = {r.metadata["name"]: r for r in stack.of_type("kubernetes:core/v1:ServiceAccount")}
    control_plane = accounts["lambdaclone-control-plane"]
    function = accounts["lambdaclone-function"]
    assert control_plane.metadata["namespace"] == SYSTEM_NS
    assert function.metadata["namespace"] == FUNCTIONS_NS
    assert (
        control_plane.metadata["annotations"]["eks.amazonaws.com/role-arn"]
        == (_role_named(stack, "lambdaclone-control-plane").state["arn"])
    )
    assert (
        function.metadata["annotations"]["eks.amazonaws.com/role-arn"]
        == (_role_named(stack, "lambdaclone-function").state["arn"])
    )
    assert function.inputs["automountServiceAccountToken"] is False


def test_namespaces_exist_and_functions_cannot_run_privileged(stack: StackRun) -> None:
    namespaces = {
        r.metadata["name"]: r.metadata for r in stack.of_type("kubernetes:core/v1:Namespace")
    }
    assert set(namespaces) == {FUNCTIONS_NS, SYSTEM_NS}
    labels = namespaces[FUNCTIONS_NS]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --- cluster and network --------------------------------------------------------------------


def test_cluster_uses_access_entries_and_private_nodes(stack: StackRun) -> None:
    cluster = stack.one("aws:eks/cluster:Cluster").inputs
    assert cluster["name"] == "lambdaclone"
    assert cluster["version"] == "1.33"
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    nodes = stack.one("aws:eks/nodeGroup:NodeGroup").inputs
    private = {
        f"{r.name}-id" for r in stack.of_type("aws:ec2/subnet:Subnet") if "private" in r.name
    }
    assert set(nodes["subnetIds"]) == private
    assert nodes["scalingConfig"] == {"desiredSize": 2, "minSize": 1, "maxSize": 4}
    assert nodes["instanceTypes"] == ["t3.large"]
    logs = stack.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert logs["name"] == "/aws/eks/lambdaclone/cluster"
    assert logs["retentionInDays"] == 30


def test_subnets_span_two_zones_with_load_balancer_role_tags(stack: StackRun) -> None:
    subnets = stack.of_type("aws:ec2/subnet:Subnet")
    public = [s.inputs for s in subnets if "public" in s.name]
    private = [s.inputs for s in subnets if "private" in s.name]
    assert {s["availabilityZone"] for s in public} == set(ZONES[:2])
    assert {s["availabilityZone"] for s in private} == set(ZONES[:2])
    for subnet in public:
        assert subnet["tags"]["kubernetes.io/role/elb"] == "1"
        assert subnet["mapPublicIpOnLaunch"] is False
    for subnet in private:
        assert subnet["tags"]["kubernetes.io/role/internal-elb"] == "1"
    vpc = ipaddress.ip_network(stack.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    blocks = [ipaddress.ip_network(s["cidrBlock"]) for s in public + private]
    assert all(block.subnet_of(vpc) for block in blocks)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_zones_come_from_the_region_when_not_configured(stack: StackRun) -> None:
    tokens = [call.token for call in stack.calls]
    assert tokens == ["aws:index/getAvailabilityZones:getAvailabilityZones"]


def test_private_subnets_route_through_nat_and_public_through_igw(stack: StackRun) -> None:
    tables = {r.name: r.inputs for r in stack.of_type("aws:ec2/routeTable:RouteTable")}
    assert tables["lambdaclone-public"]["routes"][0]["gatewayId"] == "lambdaclone-igw-id"
    for name, table in tables.items():
        if "private" in name:
            assert table["routes"][0]["natGatewayId"].startswith("lambdaclone-nat-")
    assert len(stack.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_kubeconfig_authenticates_with_aws_eks_get_token(stack: StackRun) -> None:
    kubeconfig = json.loads(stack.outputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "aws"
    args = user["user"]["exec"]["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == "lambdaclone"
    assert args[args.index("--region") + 1] == "us-east-1"
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")
    assert "token" not in json.dumps(user["user"]).replace("get-token", "")


def test_kubernetes_resources_use_the_cluster_provider(stack: StackRun) -> None:
    provider = stack.one("pulumi:providers:kubernetes")
    assert provider.name == "lambdaclone-k8s"
    assert provider.inputs["clusterIdentifier"] == stack.one("aws:eks/cluster:Cluster").state["arn"]
    assert json.loads(provider.inputs["kubeconfig"]) == json.loads(stack.outputs["kubeconfig"])
    aws_provider = stack.one("pulumi:providers:aws").inputs
    assert aws_provider["region"] == "us-east-1"


# --- outputs --------------------------------------------------------------------------------


def test_stack_exports_every_output(stack: StackRun) -> None:
    required = {
        "kubeconfig",
        "clusterName",
        "functionsNamespace",
        "codeBucket",
        "ingressClass",
        "ingressGroup",
        "mongoUri",
        "controlPlaneServiceAccount",
        "functionServiceAccount",
        "region",
    }
    assert required <= set(OUTPUT_NAMES)
    assert set(stack.outputs) == set(OUTPUT_NAMES)
    assert all(stack.outputs[name] for name in OUTPUT_NAMES), stack.outputs


def test_output_values_match_the_config(stack: StackRun) -> None:
    outputs = stack.outputs
    assert outputs["functionsNamespace"] == FUNCTIONS_NS
    assert outputs["systemNamespace"] == SYSTEM_NS
    assert outputs["ingressClass"] == "alb"
    assert outputs["ingressGroup"] == "lambdaclone"
    assert outputs["region"] == "us-east-1"
    assert outputs["controlPlaneServiceAccount"] == "lambdaclone-control-plane"
    assert outputs["functionServiceAccount"] == "lambdaclone-function"
    assert outputs["codePrefix"] == "functions/"
    assert outputs["mongoUri"] == (
        f"mongodb://lambdaclone:{TEST_PASSWORD}@mongodb.{SYSTEM_NS}.svc.cluster.local:27017/"
        "lambdaclone?authSource=admin"
    )


def test_kubeconfig_and_mongo_uri_are_secret(stack: StackRun) -> None:
    assert {"kubeconfig", "mongoUri"} <= stack.secret_outputs
    assert stack.secret_outputs == SECRET_OUTPUTS, "nothing else needs hiding"


# --- image registry ------------------------------------------------------------------------


def test_every_image_has_an_ecr_repository_scanned_on_push(stack: StackRun) -> None:
    repositories = {r.inputs["name"]: r.inputs for r in stack.of_type(ECR_REPOSITORY)}
    assert set(repositories) == {
        "lambdaclone/runtime-python",
        "lambdaclone/runtime-node",
        "lambdaclone/runtime-golang",
        "lambdaclone/runtime-provided",
        "lambdaclone/control-plane",
    }
    for inputs in repositories.values():
        assert inputs["imageTagMutability"] == "IMMUTABLE", "a pushed tag names its bytes for good"
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
        assert inputs["forceDelete"] is False


def test_repositories_match_the_image_recipes() -> None:
    """`make images push` pushes each recipe's image to lambdaclone/<image>."""
    control_plane = Path("tools/images/control-plane.toml")
    recipes = [*sorted(Path("runtimes").glob("*/image.toml")), control_plane]
    images = {tomllib.loads(r.read_text())["image"] for r in recipes}
    assert images == set(IMAGE_REPOSITORIES)


def test_only_untagged_images_beyond_the_retention_count_expire(stack: StackRun) -> None:
    policies = stack.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == len(IMAGE_REPOSITORIES) == 5
    for policy in policies:
        (rule,) = json.loads(policy.inputs["policy"])["rules"]
        assert rule["selection"]["tagStatus"] == "untagged"
        assert rule["selection"]["countType"] == "imageCountMoreThan"
        assert rule["selection"]["countNumber"] == 20


def test_the_registry_host_and_repositories_are_exported(stack: StackRun) -> None:
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert stack.outputs["imageRegistry"] == host
    assert stack.outputs["imageRepositories"]["runtime-python"] == (
        f"{host}/lambdaclone/runtime-python"
    )
