"""The whole base stack as one function of its configuration, free of import-time side effects.

`__main__.py` calls `build(load_config())` and exports the result; the unit tests call `build`
with a config they construct, under Pulumi mocks, and inspect every resource it registered.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.access import build_access
from infra.alb_controller import build_alb_controller
from infra.bucket import build_bucket
from infra.cluster import build_cluster
from infra.config import CODE_PREFIX, PROJECT, StackConfig
from infra.control_plane import build_control_plane, control_plane_env
from infra.control_plane_ingress import build_control_plane_ingress_class, control_plane_url
from infra.mongodb import build_mongodb
from infra.network import build_network, resolve_zones
from infra.network_policies import build_function_policies, build_policy_enforcement
from infra.registry import build_registry
from infra.storage import build_storage


def build(config: StackConfig) -> dict[str, pulumi.Output[Any]]:
    """Create every resource of the base stack and return the stack outputs by name."""
    aws_provider = aws.Provider(
        "aws",
        region=config.region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={
                "project": PROJECT,
                "stack": pulumi.get_stack(),
                "lambdaclone:cluster": config.cluster_name,
            }
        ),
    )
    aws_opts = pulumi.ResourceOptions(provider=aws_provider)
    zones = resolve_zones(config, pulumi.InvokeOptions(provider=aws_provider))

    network = build_network(config, zones, aws_opts)
    cluster = build_cluster(config, network, aws_opts)
    bucket = build_bucket(config, aws_opts)
    registry = build_registry(config, aws_opts)
    storage_class = build_storage(config, cluster, aws_opts)
    alb = build_alb_controller(config, cluster, network, aws_opts)
    mongodb = build_mongodb(config, cluster.provider, storage_class)
    access = build_access(config, cluster, bucket, mongodb.namespace, aws_opts)
    build_policy_enforcement(config, cluster, aws_opts)
    build_function_policies(config, cluster.provider, access.functions_namespace)

    outputs: dict[str, pulumi.Output[Any]] = {
        "kubeconfig": cluster.kubeconfig,
        "clusterName": cluster.name,
        "region": pulumi.Output.from_input(config.region),
        "functionsNamespace": access.functions_namespace,
        "systemNamespace": mongodb.namespace.metadata.name,
        "codeBucket": bucket.name,
        "codePrefix": pulumi.Output.from_input(CODE_PREFIX),
        "ingressClass": pulumi.Output.from_input(config.ingress_class),
        "ingressGroup": pulumi.Output.from_input(config.ingress_group),
        "mongoUri": mongodb.uri,
        "controlPlaneServiceAccount": access.control_plane_service_account,
        "controlPlaneRoleArn": access.control_plane_role_arn,
        "functionServiceAccount": access.function_service_account,
        "functionRoleArn": access.function_role_arn,
        "albControllerRoleArn": alb.role.arn,
        "oidcProviderArn": cluster.oidc.provider_arn,
        "vpcId": network.vpc_id,
        "storageClass": storage_class.metadata.name,
        "imageRegistry": registry.host,
        "imageRepositories": registry.repositories,
    }
    if config.deploy_control_plane:
        ingress_class = build_control_plane_ingress_class(config, cluster.provider, [alb.release])
        ingress = build_control_plane(
            config,
            provider=cluster.provider,
            namespace=mongodb.namespace,
            service_account=access.control_plane_service_account,
            env=control_plane_env(config, bucket.name, mongodb.secret_name),
            depends_on=[alb.release, ingress_class],
        )
        hostname = ingress.status.load_balancer.ingress.apply(
            lambda items: str(items[0]["hostname"]) if items else ""
        )
        outputs["controlPlaneHostname"] = hostname
        outputs["controlPlaneUrl"] = control_plane_url(config, hostname)
    return outputs
