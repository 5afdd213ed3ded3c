"""The EKS cluster, its managed node group, its OIDC provider and a kubeconfig for it.

Authentication uses EKS access entries (`API` mode) rather than the `aws-auth` ConfigMap: the
identity running `pulumi up` becomes cluster admin at creation, further admins are listed in
config, and managed node groups get their entries from EKS itself. The kubeconfig holds no
credential — it runs `aws eks get-token` — but it is still exported as a secret because it
names the endpoint and is meant for operators only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.config import CONTROL_PLANE_GROUP, StackConfig
from infra.irsa import OidcIdentity, managed_policy_arn, partition
from infra.network import Network

_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
_LOG_TYPES = ["api", "audit", "authenticator"]


@dataclass(frozen=True)
class Cluster:
    name: pulumi.Output[str]
    oidc: OidcIdentity
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    node_group: aws.eks.NodeGroup


def _assume_role_by_service(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _role(
    name: str, service: str, policies: list[str], region: str, aws_opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    role = aws.iam.Role(name, assume_role_policy=_assume_role_by_service(service), opts=aws_opts)
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=managed_policy_arn(region, policy),
            opts=aws_opts,
        )
        for policy in policies
    ]
    return role, attachments


def kubeconfig_document(
    cluster_name: str, endpoint: str, certificate_authority: str, region: str
) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token` (the caller's AWS identity)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": certificate_authority,
                },
            }
        ],
        "contexts": [
            {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
        ],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "eks",
                            "get-token",
                            "--cluster-name",
                            cluster_name,
                            "--region",
                            region,
                            "--output",
                            "json",
                        ],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def _oidc_issuer(identities: Sequence[Mapping[str, Any]]) -> str:
    """The issuer URL; output types are read by key, which works for them and for plain dicts."""
    for identity in identities:
        for oidc in identity.get("oidcs") or ():
            if oidc.get("issuer"):
                return str(oidc["issuer"])
    raise pulumi.RunError("the EKS cluster reports no OIDC issuer")


def build_cluster(
    config: StackConfig, network: Network, aws_opts: pulumi.ResourceOptions
) -> Cluster:
    """EKS control plane, managed nodes in the private subnets, OIDC provider and access."""
    name = config.cluster_name
    cluster_role, cluster_attachments = _role(
        f"{name}-cluster", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"], config.region, aws_opts
    )
    # EKS would create this log group itself, without retention, and leave it behind on destroy.
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-control-plane-logs",
        name=f"/aws/eks/{name}/cluster",
        retention_in_days=config.cluster_log_retention_days,
        opts=aws_opts,
    )
    cluster = aws.eks.Cluster(
        name,
        name=name,
        version=config.kubernetes_version,
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[*network.private_subnet_ids, *network.public_subnet_ids],
            endpoint_private_access=True,
            endpoint_public_access=True,
            public_access_cidrs=list(config.api_public_access_cidrs),
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API",
            bootstrap_cluster_creator_admin_permissions=True,
        ),
        enabled_cluster_log_types=_LOG_TYPES,
        opts=pulumi.ResourceOptions.merge(
            aws_opts, pulumi.ResourceOptions(depends_on=[*cluster_attachments, log_group])
        ),
    )

    node_role, node_attachments = _role(
        f"{name}-node",
        "ec2.amazonaws.com",
        [
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
        ],
        config.region,
        aws_opts,
    )
    node_group = aws.eks.NodeGroup(
        f"{name}-nodes",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=network.private_subnet_ids,
        instance_types=list(config.node_instance_types),
        disk_size=config.node_disk_size_gb,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            desired_size=config.node_desired_size,
            min_size=config.node_min_size,
            max_size=config.node_max_size,
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels={"lambdaclone.io/pool": "default"},
        opts=pulumi.ResourceOptions.merge(
            aws_opts, pulumi.ResourceOptions(depends_on=node_attachments)
        ),
    )

    issuer = cluster.identities.apply(_oidc_issuer)
    oidc_provider = aws.iam.OpenIdConnectProvider(
        f"{name}-oidc",
        url=issuer,
        client_id_lists=["sts.amazonaws.com"],
        opts=aws_opts,
    )
    oidc = OidcIdentity(
        provider_arn=oidc_provider.arn,
        issuer_host=issuer.apply(lambda url: url.removeprefix("https://")),
    )

    _access_entries(config, cluster, aws_opts)

    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda args: json.dumps(
                kubeconfig_document(str(args[0]), str(args[1]), str(args[2]), config.region)
            )
        )
    )
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        # Replace the provider (and so every Kubernetes resource) only for a different cluster,
        # never because the kubeconfig's text changed.
        cluster_identifier=cluster.arn,
        opts=pulumi.ResourceOptions(depends_on=[node_group]),
    )
    return Cluster(
        name=cluster.name,
        oidc=oidc,
        kubeconfig=kubeconfig,
        provider=provider,
        node_group=node_group,
    )


def _access_entries(
    config: StackConfig, cluster: aws.eks.Cluster, aws_opts: pulumi.ResourceOptions
) -> None:
    """Extra cluster admins, and the IAM identities an out-of-cluster control plane runs as.

    The control-plane identities get no access policy at all: they are only put in a Kubernetes
    group that `access.py` binds to the functions-namespace Role, so they have exactly the rights
    of the in-cluster control-plane service account.
    """
    admin_policy_arn = (
        f"arn:{partition(config.region)}:eks::aws:cluster-access-policy/{_ADMIN_POLICY}"
    )
    for index, arn in enumerate(config.cluster_admin_arns):
        entry = aws.eks.AccessEntry(
            f"{config.cluster_name}-admin-{index}",
            cluster_name=cluster.name,
            principal_arn=arn,
            opts=aws_opts,
        )
        aws.eks.AccessPolicyAssociation(
            f"{config.cluster_name}-admin-{index}",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=admin_policy_arn,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=aws_opts,
        )
    for index, arn in enumerate(config.control_plane_principal_arns):
        aws.eks.AccessEntry(
            f"{config.cluster_name}-control-plane-{index}",
            cluster_name=cluster.name,
            principal_arn=arn,
            kubernetes_groups=[CONTROL_PLANE_GROUP],
            opts=aws_opts,
        )
