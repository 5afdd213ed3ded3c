"""The AWS Load Balancer Controller: turns the functions' Ingress rules into one shared ALB.

The controller's IAM policy below is the essential part of the upstream `iam_policy.json`
(kubernetes-sigs/aws-load-balancer-controller, docs/install): read-only discovery, and writes
restricted by the `elbv2.k8s.aws/cluster` tag the controller puts on everything it creates, so
it can only modify load balancers, target groups and security groups it owns. When upgrading
the chart, compare with the upstream policy of the matching controller version.

The chart's IngressClassParams pin every Ingress of our class to one ALB group and an
internet-facing scheme, and only admit Ingresses from the lambdaclone namespaces: a stray
Ingress elsewhere in the cluster can neither create a second ALB nor join ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.cluster import Cluster
from infra.config import StackConfig
from infra.irsa import ROLE_ARN_ANNOTATION, partition, policy_json, service_account_role
from infra.network import Network

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
CHART = "aws-load-balancer-controller"
CHART_REPO = "https://aws.github.io/eks-charts"

_CLUSTER_TAG = "elbv2.k8s.aws/cluster"

_READ_ACTIONS = [
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:DescribeRouteTables",
    "ec2:DescribeCoipPools",
    "ec2:GetCoipPoolUsage",
    "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeIpamPools",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeCapacityReservation",
]

_INTEGRATION_ACTIONS = [
    "cognito-idp:DescribeUserPoolClient",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource",
    "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
    "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
    "shield:CreateProtection",
    "shield:DeleteProtection",
]


def controller_policy_statements(region: str) -> list[dict[str, Any]]:
    """IAM statements the controller needs; writes are limited to resources it tagged."""
    arn = partition(region)
    elb = f"arn:{arn}:elasticloadbalancing:*:*"
    security_groups = f"arn:{arn}:ec2:*:*:security-group/*"
    owned = {"Null": {f"aws:ResourceTag/{_CLUSTER_TAG}": "false"}}
    tagging_new = {"Null": {f"aws:RequestTag/{_CLUSTER_TAG}": "false"}}
    retagging_owned = {
        "Null": {
            f"aws:RequestTag/{_CLUSTER_TAG}": "true",
            f"aws:ResourceTag/{_CLUSTER_TAG}": "false",
        }
    }
    load_balancers = [
        f"{elb}:targetgroup/*/*",
        f"{elb}:loadbalancer/net/*/*",
        f"{elb}:loadbalancer/app/*/*",
    ]
    return [
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
            },
        },
        {"Effect": "Allow", "Action": _READ_ACTIONS, "Resource": "*"},
        {"Effect": "Allow", "Action": _INTEGRATION_ACTIONS, "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": "ec2:CreateSecurityGroup", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": security_groups,
            "Condition": {
                "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                **tagging_new,
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": security_groups,
            "Condition": retagging_owned,
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
            ],
            "Resource": "*",
            "Condition": owned,
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            "Resource": "*",
            "Condition": tagging_new,
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": load_balancers,
            "Condition": retagging_owned,
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": [
                f"{elb}:listener/net/*/*/*",
                f"{elb}:listener/app/*/*/*",
                f"{elb}:listener-rule/net/*/*/*",
                f"{elb}:listener-rule/app/*/*/*",
            ],
        },
        {
            "Effect": "Allow",
            "Action": "elasticloadbalancing:AddTags",
            "Resource": load_balancers,
            "Condition": {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": [
                        "CreateTargetGroup",
                        "CreateLoadBalancer",
                    ]
                },
                **tagging_new,
            },
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyCapacityReservation",
                "elasticloadbalancing:ModifyIpPools",
            ],
            "Resource": "*",
            "Condition": owned,
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            ],
            "Resource": f"{elb}:targetgroup/*/*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:SetWebAcl",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            "Resource": "*",
        },
    ]


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
                            "values": [config.functions_namespace, config.system_namespace],
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
