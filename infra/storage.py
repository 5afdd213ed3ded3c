"""Block storage for MongoDB: the EBS CSI driver add-on and an encrypted gp3 StorageClass.

EKS no longer ships a working default StorageClass for new clusters (the in-tree EBS plugin is
gone and `gp2` is not marked default), so a StatefulSet's PVC would stay Pending without this.
The class retains volumes on delete: losing the database because a PVC was removed by mistake is
worse than cleaning up a volume by hand after `pulumi destroy` (see docs/deploy-aws.md).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.cluster import Cluster
from infra.config import StackConfig
from infra.irsa import managed_policy_arn, service_account_role

EBS_CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


def build_storage(
    config: StackConfig, cluster: Cluster, aws_opts: pulumi.ResourceOptions
) -> k8s.storage.v1.StorageClass:
    role = service_account_role(
        f"{config.cluster_name}-ebs-csi",
        cluster.oidc,
        EBS_CSI_NAMESPACE,
        EBS_CSI_SERVICE_ACCOUNT,
        aws_opts,
    )
    attachment = aws.iam.RolePolicyAttachment(
        f"{config.cluster_name}-ebs-csi",
        role=role.name,
        policy_arn=managed_policy_arn(config.region, "service-role/AmazonEBSCSIDriverPolicy"),
        opts=aws_opts,
    )
    addon = aws.eks.Addon(
        f"{config.cluster_name}-ebs-csi",
        cluster_name=cluster.name,
        addon_name="aws-ebs-csi-driver",
        service_account_role_arn=role.arn,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=pulumi.ResourceOptions.merge(
            aws_opts, pulumi.ResourceOptions(depends_on=[attachment, cluster.node_group])
        ),
    )
    return k8s.storage.v1.StorageClass(
        config.storage_class,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=config.storage_class),
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
        reclaim_policy="Retain",
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[addon]),
    )
