"""The typed configuration of the base stack, read once from `pulumi config`.

Every module takes a `StackConfig` rather than calling `pulumi.Config` itself, so that the whole
schema (keys, defaults, validation) lives in one place, `docs/deploy-aws.md` can document it from
one place, and the unit tests can build a stack from a config they construct directly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

PROJECT = "lambdaclone-base"

CODE_PREFIX = "functions/"
"""Key prefix of the function code artifacts in the bucket (`functions/<key>/...`)."""

STATE_PREFIX = "pulumi-state/"
"""Key prefix of the per-function Pulumi stacks' state when the control plane runs in-cluster."""

CONTROL_PLANE_SERVICE_ACCOUNT = "lambdaclone-control-plane"
FUNCTION_SERVICE_ACCOUNT = "lambdaclone-function"
CONTROL_PLANE_GROUP = "lambdaclone:control-plane"
"""Kubernetes group that IAM principals in `controlPlanePrincipalArns` are mapped to."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,35}$")
_QUANTITY = re.compile(r"^[1-9][0-9]*(Gi|Ti)$")
_K8S_VERSION = re.compile(r"^1\.[0-9]{2}$")
_MAX_AZS = 6
_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922}
    | {3288, 3653}
)


class ConfigError(pulumi.RunError):
    """An invalid configuration value; Pulumi prints the message without a traceback."""


@dataclass(frozen=True)
class StackConfig:
    """Everything the base stack needs to know; defaults give a small but real deployment."""

    mongo_password: pulumi.Input[str] = field(repr=False)
    """Root password of the in-cluster MongoDB. Required secret: never defaulted or generated."""

    region: str = "us-east-1"
    cluster_name: str = "lambdaclone"
    kubernetes_version: str = "1.33"
    node_instance_types: tuple[str, ...] = ("t3.large",)
    node_desired_size: int = 2
    node_min_size: int = 1
    node_max_size: int = 4
    node_disk_size_gb: int = 40
    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: tuple[str, ...] = ()
    """Explicit AZs; empty means the first `az_count` available AZs of the region."""
    az_count: int = 2
    single_nat_gateway: bool = True
    """One NAT gateway for all AZs (cheap) instead of one per AZ (survives an AZ outage)."""
    api_public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    cluster_log_retention_days: int = 30
    cluster_admin_arns: tuple[str, ...] = ()
    control_plane_principal_arns: tuple[str, ...] = ()
    """IAM principals that may act as the control plane from outside the cluster."""

    functions_namespace: str = "lambdaclone-functions"
    system_namespace: str = "lambdaclone-system"

    bucket_prefix: str = "lambdaclone-code"
    bucket_force_destroy: bool = False
    noncurrent_version_days: int = 30
    """Days to keep overwritten code versions; 0 keeps them forever."""

    ingress_class: str = "alb"
    ingress_group: str = "lambdaclone"
    alb_controller_chart_version: str = "1.14.0"

    storage_class: str = "gp3"
    mongo_image: str = "mongo:7"
    mongo_storage_size: str = "20Gi"
    mongo_username: str = "lambdaclone"
    mongo_database: str = "lambdaclone"

    deploy_control_plane: bool = False
    control_plane_image: str = ""
    control_plane_replicas: int = 1
    control_plane_public_url: str = ""
    pulumi_passphrase: pulumi.Input[str] | None = field(default=None, repr=False)
    """Passphrase of the function stacks' secrets; required only with `deploy_control_plane`."""

    def __post_init__(self) -> None:
        self._check_cluster()
        self._check_network()
        self._check_names()
        if self.deploy_control_plane:
            if not self.control_plane_image:
                raise ConfigError(
                    "deployControlPlane is true but controlPlaneImage is empty: "
                    "`pulumi config set controlPlaneImage <registry>/<image>:<tag>`"
                )
            if self.pulumi_passphrase is None:
                raise ConfigError(
                    "deployControlPlane is true but the secret pulumiPassphrase is missing: "
                    "`pulumi config set --secret pulumiPassphrase <passphrase>`"
                )
            _require(
                self.control_plane_replicas == 1,
                f"controlPlaneReplicas must be 1 (got {self.control_plane_replicas}): the control "
                "plane serializes each function's changes in-process, and replicas would need a "
                "lease per function, which does not exist yet (docs/adr/0002)",
            )

    def _check_cluster(self) -> None:
        _require(
            _CLUSTER_NAME.match(self.cluster_name) is not None,
            f"clusterName {self.cluster_name!r} is not a valid EKS cluster name",
        )
        _require(
            _K8S_VERSION.match(self.kubernetes_version) is not None,
            f"kubernetesVersion {self.kubernetes_version!r} must look like 1.33",
        )
        _require(len(self.node_instance_types) > 0, "nodeInstanceTypes must not be empty")
        _require(
            1 <= self.node_min_size <= self.node_desired_size <= self.node_max_size,
            "need 1 <= nodeMinSize <= nodeDesiredSize <= nodeMaxSize, got "
            f"{self.node_min_size}/{self.node_desired_size}/{self.node_max_size}",
        )
        _require(self.node_disk_size_gb >= 20, "nodeDiskSizeGb must be >= 20")
        _require(
            self.cluster_log_retention_days in _LOG_RETENTION_DAYS,
            f"clusterLogRetentionDays must be one of {sorted(_LOG_RETENTION_DAYS)}",
        )

    def _check_network(self) -> None:
        try:
            network = ipaddress.ip_network(self.vpc_cidr)
        except ValueError as exc:
            raise ConfigError(f"vpcCidr {self.vpc_cidr!r} is not a CIDR block: {exc}") from exc
        _require(
            isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 20,
            f"vpcCidr {self.vpc_cidr!r} must be an IPv4 block between /16 and /20",
        )
        zones = len(self.availability_zones) or self.az_count
        _require(
            2 <= zones <= _MAX_AZS,
            f"the stack needs between 2 and {_MAX_AZS} availability zones, got {zones}",
        )
        _require(len(self.api_public_access_cidrs) > 0, "apiPublicAccessCidrs must not be empty")

    def _check_names(self) -> None:
        for key, value in (
            ("functionsNamespace", self.functions_namespace),
            ("systemNamespace", self.system_namespace),
            ("ingressGroup", self.ingress_group),
            ("ingressClass", self.ingress_class),
            ("storageClass", self.storage_class),
        ):
            _require(_DNS_LABEL.match(value) is not None, f"{key} {value!r} is not a DNS label")
        _require(
            self.functions_namespace != self.system_namespace,
            "functionsNamespace and systemNamespace must differ",
        )
        _require(
            _BUCKET_PREFIX.match(self.bucket_prefix) is not None,
            f"bucketPrefix {self.bucket_prefix!r}: lowercase letters, digits, '-', 2-36 chars",
        )
        _require(
            _QUANTITY.match(self.mongo_storage_size) is not None,
            f"mongoStorageSize {self.mongo_storage_size!r} must look like 20Gi",
        )
        _require(self.noncurrent_version_days >= 0, "noncurrentVersionDays must be >= 0")
        _require(bool(self.mongo_username), "mongoUsername must not be empty")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


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
        deploy_control_plane=config.get_bool("deployControlPlane", defaults.deploy_control_plane),
        control_plane_image=config.get("controlPlaneImage") or "",
        control_plane_replicas=config.get_int(
            "controlPlaneReplicas", defaults.control_plane_replicas
        ),
        control_plane_public_url=config.get("controlPlanePublicUrl") or "",
        pulumi_passphrase=config.get_secret("pulumiPassphrase"),
    )


_MIN_PASSWORD_LENGTH = 16


def _check_password(password: str) -> str:
    """Reject weak passwords at deploy time (the value is a secret, so only known inside apply)."""
    if len(password) < _MIN_PASSWORD_LENGTH:
        raise ConfigError(f"mongoPassword must be at least {_MIN_PASSWORD_LENGTH} characters")
    return password
