"""Who may do what: the functions namespace, the control plane's identity and the functions' one.

Least privilege on both sides of the platform:

* The control plane acts through the `lambdaclone-control-plane` service account (and, when it
  runs outside the cluster, through IAM principals mapped to the `lambdaclone:control-plane`
  group). Kubernetes rights come from a namespaced Role in the functions namespace only — no
  ClusterRole: it can manage exactly the per-function objects (Deployments, Services,
  ConfigMaps, Secrets — a function's secret values — and Ingresses), read what it watches while
  they roll out (Pods, ReplicaSets, Endpoints, Events) and read the pods' logs (`pods/log`, for
  `GET /lambda/logs`); the verbs are listed in docs/adr/0044. AWS
  rights (IRSA) cover the code objects under `functions/` in the code bucket, plus the Pulumi
  state prefix when it runs in-cluster.

The Kubernetes half (`build_kubernetes_access`) needs no AWS: the real-node e2e test deploys
the control plane with exactly these objects in its test cluster.
* Function pods run as `lambdaclone-function`, which can only read code objects, has no
  Kubernetes API token mounted, and lives in a namespace enforcing the `restricted` pod
  security standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.bucket import CodeBucket
from infra.cluster import Cluster
from infra.config import (
    CODE_PREFIX,
    CONTROL_PLANE_GROUP,
    CONTROL_PLANE_SERVICE_ACCOUNT,
    FUNCTION_SERVICE_ACCOUNT,
    STATE_PREFIX,
    StackConfig,
)
from infra.irsa import ROLE_ARN_ANNOTATION, policy_json, service_account_role

WRITE_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
READ_VERBS = ["get", "list", "watch"]

MANAGED_RESOURCES: dict[str, list[str]] = {
    "apps": ["deployments"],
    "": ["services", "configmaps", "secrets"],
    "networking.k8s.io": ["ingresses"],
}
"""What the control plane creates for each function (CONTRACT §6; its secret values go into a
Secret `lc-<key>` referenced by the Deployment), by API group. Only function objects live in
the functions namespace, so these rights reach nothing else."""

AWAIT_RESOURCES: dict[str, list[str]] = {
    "": ["pods", "endpoints", "events"],
    "apps": ["replicasets"],
}
"""Read-only: what the control plane watches while a function rolls out
(engine/kubernetes/rollout.py: the new ReplicaSet's pods, the Service's endpoints, the pods'
events for a start failure's reason)."""

LOG_RESOURCES: dict[str, list[str]] = {"": ["pods/log"]}
"""Get only: the function pods' output, which `GET /lambda/logs` shows."""


@dataclass(frozen=True)
class Access:
    functions_namespace: pulumi.Output[str]
    control_plane_service_account: pulumi.Output[str]
    control_plane_role_arn: pulumi.Output[str]
    function_service_account: pulumi.Output[str]
    function_role_arn: pulumi.Output[str]


def control_plane_rules() -> list[k8s.rbac.v1.PolicyRuleArgs]:
    rules = [
        k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=resources, verbs=WRITE_VERBS)
        for group, resources in MANAGED_RESOURCES.items()
    ]
    rules += [
        k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=resources, verbs=READ_VERBS)
        for group, resources in AWAIT_RESOURCES.items()
    ]
    rules += [
        k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=resources, verbs=["get"])
        for group, resources in LOG_RESOURCES.items()
    ]
    return rules


def control_plane_s3_statements(bucket_arn: str, prefixes: list[str]) -> list[dict[str, Any]]:
    """Read, write and delete (all versions) of objects under `prefixes`, and list the bucket.

    Version-level rights are needed because the bucket is versioned: deleting a function's
    artifact through pulumi-aws removes every version of its object, not just the latest.
    Listing is not narrowed by an `s3:prefix` condition because `HeadBucket`, which the code
    store calls at start-up, needs `s3:ListBucket` and carries no prefix; names are all it
    reveals, and the bucket holds nothing but code and function-stack state.
    """
    return [
        {
            "Sid": "CodeObjects",
            "Effect": "Allow",
            "Action": [
                "s3:PutObject",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObjectTagging",
                "s3:PutObjectTagging",
            ],
            "Resource": [f"{bucket_arn}/{prefix}*" for prefix in prefixes],
        },
        {
            "Sid": "ListCodeObjects",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": bucket_arn,
        },
    ]


def function_s3_statements(bucket_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ReadCode",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{CODE_PREFIX}*",
        }
    ]


def build_functions_namespace(config: StackConfig, provider: k8s.Provider) -> k8s.core.v1.Namespace:
    """Where every function's objects live; pods there must meet the `restricted` standard.

    The engine's function pods do (non-root, no privilege escalation, all capabilities dropped,
    RuntimeDefault seccomp, read-only root), so anything that does not is not ours.
    """
    return k8s.core.v1.Namespace(
        config.functions_namespace,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=config.functions_namespace,
            labels={
                "app.kubernetes.io/part-of": "lambdaclone",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        ),
        opts=pulumi.ResourceOptions(provider=provider),
    )


@dataclass(frozen=True)
class KubernetesAccess:
    """The functions namespace and the two service accounts, by name."""

    functions_namespace: pulumi.Output[str]
    control_plane_service_account: pulumi.Output[str]
    function_service_account: pulumi.Output[str]


def build_kubernetes_access(
    config: StackConfig,
    provider: k8s.Provider,
    system_namespace: k8s.core.v1.Namespace,
    *,
    control_plane_role_arn: pulumi.Input[str] | None = None,
    function_role_arn: pulumi.Input[str] | None = None,
) -> KubernetesAccess:
    """The functions namespace, both service accounts (annotated with their IRSA roles when
    given) and the control plane's Role and RoleBinding: every Kubernetes object of `access`."""
    functions_ns = build_functions_namespace(config, provider)
    opts = pulumi.ResourceOptions(provider=provider)
    cp_sa = k8s.core.v1.ServiceAccount(
        CONTROL_PLANE_SERVICE_ACCOUNT,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=CONTROL_PLANE_SERVICE_ACCOUNT,
            namespace=system_namespace.metadata.name,
            annotations=_role_annotation(control_plane_role_arn),
        ),
        opts=opts,
    )
    _control_plane_rbac(config, functions_ns, provider)
    fn_sa = k8s.core.v1.ServiceAccount(
        FUNCTION_SERVICE_ACCOUNT,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=FUNCTION_SERVICE_ACCOUNT,
            namespace=functions_ns.metadata.name,
            annotations=_role_annotation(function_role_arn),
        ),
        automount_service_account_token=False,
        opts=opts,
    )
    return KubernetesAccess(
        functions_namespace=functions_ns.metadata.name,
        control_plane_service_account=cp_sa.metadata.name,
        function_service_account=fn_sa.metadata.name,
    )


def _role_annotation(role_arn: pulumi.Input[str] | None) -> dict[str, pulumi.Input[str]] | None:
    return {ROLE_ARN_ANNOTATION: role_arn} if role_arn is not None else None


def build_access(
    config: StackConfig,
    cluster: Cluster,
    bucket: CodeBucket,
    system_namespace: k8s.core.v1.Namespace,
    aws_opts: pulumi.ResourceOptions,
) -> Access:
    prefixes = [CODE_PREFIX, STATE_PREFIX] if config.deploy_control_plane else [CODE_PREFIX]
    cp_role = service_account_role(
        f"{config.cluster_name}-control-plane",
        cluster.oidc,
        config.system_namespace,
        CONTROL_PLANE_SERVICE_ACCOUNT,
        aws_opts,
    )
    aws.iam.RolePolicy(
        f"{config.cluster_name}-control-plane-s3",
        role=cp_role.id,
        policy=bucket.arn.apply(
            lambda arn: policy_json(control_plane_s3_statements(arn, prefixes))
        ),
        opts=aws_opts,
    )
    fn_role = service_account_role(
        f"{config.cluster_name}-function",
        cluster.oidc,
        config.functions_namespace,
        FUNCTION_SERVICE_ACCOUNT,
        aws_opts,
    )
    aws.iam.RolePolicy(
        f"{config.cluster_name}-function-s3",
        role=fn_role.id,
        policy=bucket.arn.apply(lambda arn: policy_json(function_s3_statements(arn))),
        opts=aws_opts,
    )
    kube = build_kubernetes_access(
        config,
        cluster.provider,
        system_namespace,
        control_plane_role_arn=cp_role.arn,
        function_role_arn=fn_role.arn,
    )
    return Access(
        functions_namespace=kube.functions_namespace,
        control_plane_service_account=kube.control_plane_service_account,
        control_plane_role_arn=cp_role.arn,
        function_service_account=kube.function_service_account,
        function_role_arn=fn_role.arn,
    )


def _control_plane_rbac(
    config: StackConfig, functions_ns: k8s.core.v1.Namespace, provider: k8s.Provider
) -> None:
    name = "lambdaclone-control-plane"
    opts = pulumi.ResourceOptions(provider=provider)
    role = k8s.rbac.v1.Role(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=functions_ns.metadata.name),
        rules=control_plane_rules(),
        opts=opts,
    )
    k8s.rbac.v1.RoleBinding(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=functions_ns.metadata.name),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
        ),
        subjects=[
            k8s.rbac.v1.SubjectArgs(
                kind="ServiceAccount",
                name=CONTROL_PLANE_SERVICE_ACCOUNT,
                namespace=config.system_namespace,
            ),
            k8s.rbac.v1.SubjectArgs(
                kind="Group",
                name=CONTROL_PLANE_GROUP,
                api_group="rbac.authorization.k8s.io",
            ),
        ],
        opts=opts,
    )
