"""`pulumi config` of the base stack, read once into a `StackConfig` (infra/config.py, where
the schema, defaults and validation live)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulumi

from infra.config import PROJECT, StackConfig
from infra.control_plane_config import check_admin_token, check_secret_key
from infra.errors import ConfigError


def _strings(config: pulumi.Config, key: str, default: Sequence[str]) -> tuple[str, ...]:
    value = config.get_object(key)
    if value is None:
        return tuple(default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of strings")
    return tuple(value)


def load_config() -> StackConfig:
    """Read the stack configuration; fails with a clear message when a required value is missing."""
    config = pulumi.Config(PROJECT)
    defaults = StackConfig(mongo_password="unused")  # noqa: S106 - only to read the defaults

    mongo_password = config.get_secret("mongoPassword")
    if mongo_password is None:
        raise ConfigError(
            "the secret mongoPassword is required (it is never generated, so it survives a "
            "re-created stack): `pulumi config set --secret mongoPassword "
            '"$(openssl rand -base64 24)"`'
        )

    return StackConfig(
        mongo_password=mongo_password.apply(_check_password),
        region=config.get("region") or pulumi.Config("aws").get("region") or defaults.region,
        cluster_name=config.get("clusterName") or defaults.cluster_name,
        kubernetes_version=config.get("kubernetesVersion") or defaults.kubernetes_version,
        node_instance_types=_strings(config, "nodeInstanceTypes", defaults.node_instance_types),
        node_desired_size=config.get_int("nodeDesiredSize", defaults.node_desired_size),
        node_min_size=config.get_int("nodeMinSize", defaults.node_min_size),
        node_max_size=config.get_int("nodeMaxSize", defaults.node_max_size),
        node_disk_size_gb=config.get_int("nodeDiskSizeGb", defaults.node_disk_size_gb),
        vpc_cidr=config.get("vpcCidr") or defaults.vpc_cidr,
        availability_zones=_strings(config, "availabilityZones", ()),
        az_count=config.get_int("azCount", defaults.az_count),
        single_nat_gateway=config.get_bool("singleNatGateway", defaults.single_nat_gateway),
        api_public_access_cidrs=_strings(
            config, "apiPublicAccessCidrs", defaults.api_public_access_cidrs
        ),
        function_egress_cidrs=_strings(
            config, "functionEgressCidrs", defaults.function_egress_cidrs
        ),
        cluster_log_retention_days=config.get_int(
            "clusterLogRetentionDays", defaults.cluster_log_retention_days
        ),
        cluster_admin_arns=_strings(config, "clusterAdminArns", ()),
        control_plane_principal_arns=_strings(config, "controlPlanePrincipalArns", ()),
        functions_namespace=config.get("functionsNamespace") or defaults.functions_namespace,
        system_namespace=config.get("systemNamespace") or defaults.system_namespace,
        bucket_prefix=config.get("bucketPrefix") or defaults.bucket_prefix,
        bucket_force_destroy=config.get_bool("bucketForceDestroy", defaults.bucket_force_destroy),
        noncurrent_version_days=config.get_int(
            "noncurrentVersionDays", defaults.noncurrent_version_days
        ),
        ingress_class=config.get("ingressClass") or defaults.ingress_class,
        ingress_group=config.get("ingressGroup") or defaults.ingress_group,
        alb_controller_chart_version=config.get("albControllerChartVersion")
        or defaults.alb_controller_chart_version,
        storage_class=config.get("storageClass") or defaults.storage_class,
        mongo_image=config.get("mongoImage") or defaults.mongo_image,
        mongo_storage_size=config.get("mongoStorageSize") or defaults.mongo_storage_size,
        mongo_username=config.get("mongoUsername") or defaults.mongo_username,
        mongo_database=config.get("mongoDatabase") or defaults.mongo_database,
        image_retention_count=config.get_int("imageRetentionCount", defaults.image_retention_count),
        registry_force_delete=config.get_bool(
            "registryForceDelete", defaults.registry_force_delete
        ),
        images_lock=config.get("imagesLock") or "",
        deploy_control_plane=config.get_bool("deployControlPlane", defaults.deploy_control_plane),
        control_plane_image=config.get("controlPlaneImage") or "",
        control_plane_replicas=config.get_int(
            "controlPlaneReplicas", defaults.control_plane_replicas
        ),
        control_plane_public_url=config.get("controlPlanePublicUrl") or "",
        control_plane_public=config.get_bool("controlPlanePublic", False),
        control_plane_allowed_cidrs=_strings(config, "controlPlaneAllowedCidrs", ()),
        control_plane_hosts=_strings(config, "controlPlaneHosts", ()),
        control_plane_certificate_arn=config.get("controlPlaneCertificateArn") or "",
        control_plane_cors_origins=_strings(config, "controlPlaneCorsOrigins", ()),
        pulumi_passphrase=config.get_secret("pulumiPassphrase"),
        admin_token=_secret(config, "adminToken", check_admin_token),
        secret_key=_secret(config, "secretKey", check_secret_key),
    )


def _secret(
    config: pulumi.Config, key: str, check: Callable[[str], str]
) -> pulumi.Output[str] | None:
    """A secret config value, checked once known (inside `apply`: it is a secret)."""
    value = config.get_secret(key)
    return value.apply(check) if value is not None else None


_MIN_PASSWORD_LENGTH = 16


def _check_password(password: str) -> str:
    """Reject weak passwords at deploy time (the value is a secret, so only known inside apply)."""
    if len(password) < _MIN_PASSWORD_LENGTH:
        raise ConfigError(f"mongoPassword must be at least {_MIN_PASSWORD_LENGTH} characters")
    return password
