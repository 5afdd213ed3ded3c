"""The AWS Load Balancer Controller: turns the functions' Ingress rules into one shared ALB.

The controller's IAM policy is in infra/alb_policy.py.

The chart's IngressClassParams pin every Ingress of our class to one ALB group and an
internet-facing scheme, and only admit Ingresses from the functions namespace: a stray Ingress
elsewhere in the cluster can neither create a second ALB nor join ours, and the control plane
(system namespace) has a class and an ALB of its own (infra/control_plane_ingress.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.alb_policy import controller_policy_statements
from infra.cluster import Cluster
from infra.config import StackConfig
from infra.irsa import ROLE_ARN_ANNOTATION, policy_json, service_account_role
from infra.network import Network

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
CHART = "aws-load-balancer-controller"
CHART_REPO = "https://aws.github.io/eks-charts"


def chart_values(config: StackConfig, cluster_name: str, vpc_id: str) -> dict[str, Any]:
    """Helm values: region and VPC given explicitly so the controller never needs IMDS."""
    return {
        "clusterName": cluster_name,
        "region": config.region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "ingressClass": config.ingress_class,
        "createIngressClassResource": True,
        "ingressClassParams": {
            "create": True,
            "name": config.ingress_class,
            "spec": {
                "scheme": "internet-facing",
                "group": {"name": config.ingress_group},
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": [config.functions_namespace],
                        }
                    ]
                },
            },
        },
    }


@dataclass(frozen=True)
class AlbController:
    role: aws.iam.Role
    release: k8s.helm.v3.Release


def build_alb_controller(
    config: StackConfig, cluster: Cluster, network: Network, aws_opts: pulumi.ResourceOptions
) -> AlbController:
    name = f"{config.cluster_name}-alb-controller"
    role = service_account_role(name, cluster.oidc, NAMESPACE, SERVICE_ACCOUNT, aws_opts)
    policy = aws.iam.Policy(
        name,
        description="AWS Load Balancer Controller (essential statements of the upstream policy)",
        policy=policy_json(controller_policy_statements(config.region)),
        opts=aws_opts,
    )
    attachment = aws.iam.RolePolicyAttachment(
        name, role=role.name, policy_arn=policy.arn, opts=aws_opts
    )
    k8s_opts = pulumi.ResourceOptions(provider=cluster.provider)
    service_account = k8s.core.v1.ServiceAccount(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=SERVICE_ACCOUNT,
            namespace=NAMESPACE,
            annotations={ROLE_ARN_ANNOTATION: role.arn},
            labels={"app.kubernetes.io/name": CHART},
        ),
        opts=k8s_opts,
    )
    values = pulumi.Output.all(cluster.name, network.vpc_id).apply(
        lambda args: chart_values(config, str(args[0]), str(args[1]))
    )
    release = k8s.helm.v3.Release(
        name,
        name=CHART,
        chart=CHART,
        version=config.alb_controller_chart_version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
        namespace=NAMESPACE,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        opts=pulumi.ResourceOptions.merge(
            k8s_opts, pulumi.ResourceOptions(depends_on=[service_account, attachment])
        ),
    )
    return AlbController(role=role, release=release)
