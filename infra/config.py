"""The typed configuration of the base stack, read once from `pulumi config`
(infra/pulumi_config.py).

Every module takes a `StackConfig` rather than calling `pulumi.Config` itself, so that the whole
schema (keys, defaults, validation) lives in one place, `docs/deploy-aws.md` can document it from
one place, and the unit tests can build a stack from a config they construct directly. What the
in-cluster control plane needs is checked in infra/control_plane_config.py.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import pulumi

from infra.control_plane_config import (
    CONTROL_PLANE_IMAGE,
    check_control_plane,
    control_plane_reference,
    locked_images,
)
from infra.errors import ConfigError, require
from infra.network_policies import egress_blocks

__all__ = ["CONTROL_PLANE_IMAGE", "ConfigError", "StackConfig"]

PROJECT = "lambdaclone-base"

CODE_PREFIX = "functions/"
"""Key prefix of the function code artifacts in the bucket (`functions/<key>/...`)."""

STATE_PREFIX = "pulumi-state/"
"""Key prefix of the per-function Pulumi stacks' state when the control plane runs in-cluster."""

CONTROL_PLANE_SERVICE_ACCOUNT = "lambdaclone-control-plane"
FUNCTION_SERVICE_ACCOUNT = "lambdaclone-function"
CONTROL_PLANE_GROUP = "lambdaclone:control-plane"
"""Kubernetes group that IAM principals in `controlPlanePrincipalArns` are mapped to."""

IMAGE_PREFIX = "lambdaclone"
"""The repository prefix `make images push` uses (`<registry>/lambdaclone/<image>`)."""
IMAGE_REPOSITORIES = (
    "runtime-python",
    "runtime-node",
    "runtime-golang",
    "runtime-provided",
    "control-plane",
)
"""One per image recipe (runtimes/*/image.toml, tools/images/control-plane.toml)."""

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
    function_egress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """Where function pods may connect (besides DNS), always minus the VPC, the Service range
    and link-local addresses (infra/network_policies.py); empty: nowhere."""
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

    image_retention_count: int = 20
    """Untagged images kept per repository (older function revisions may still run them)."""
    registry_force_delete: bool = False
    """Let `pulumi destroy` delete repositories that still hold images."""
    images_lock: str = ""
    """The images lock `make images push` wrote (its JSON text): the in-cluster control plane
    names runtime images by these digests, and runs the `control-plane` one."""

    deploy_control_plane: bool = False
    control_plane_image: str = ""
    """By digest (`<repo>@sha256:…`); empty: the images lock's `control-plane` entry."""
    control_plane_replicas: int = 1
    control_plane_public_url: str = ""
    control_plane_public: bool = False
    """Internet-facing (needs CIDRs, hosts and a certificate); false: reachable from the VPC."""
    control_plane_allowed_cidrs: tuple[str, ...] = ()
    """Who may reach the control plane's load balancer; empty (internal only): the VPC."""
    control_plane_hosts: tuple[str, ...] = ()
    """Host names the control plane answers for (its Ingress rules, `ALLOWED_HOSTS`)."""
    control_plane_certificate_arn: str = ""
    """ACM certificate of `control_plane_hosts`: HTTPS, and HTTP redirected to it."""
    control_plane_cors_origins: tuple[str, ...] = ()
    pulumi_passphrase: pulumi.Input[str] | None = field(default=None, repr=False)
    """Passphrase of the function stacks' secrets; required only with `deploy_control_plane`."""
    admin_token: pulumi.Input[str] | None = field(default=None, repr=False)
    """`LAMBDACLONE_ADMIN_TOKEN`; required with `deploy_control_plane` (no pulumi-random)."""
    secret_key: pulumi.Input[str] | None = field(default=None, repr=False)
    """`LAMBDACLONE_SECRET_KEY`, the key sealing functions' secrets; same rule."""

    def __post_init__(self) -> None:
        self._check_cluster()
        self._check_network()
        self._check_names()
        self.locked_images()
        require(self.image_retention_count >= 1, "imageRetentionCount must be >= 1")
        if self.deploy_control_plane:
            check_control_plane(self)

    def locked_images(self) -> dict[str, str]:
        """`images_lock` as a mapping `<image>:<tag>` → `<registry>/<repo>@sha256:<digest>`."""
        return locked_images(self.images_lock)

    @property
    def control_plane_reference(self) -> str:
        """The control plane's image: `controlPlaneImage`, else the lock's `control-plane`."""
        return control_plane_reference(self.control_plane_image, self.images_lock)

    def _check_cluster(self) -> None:
        require(
            _CLUSTER_NAME.match(self.cluster_name) is not None,
            f"clusterName {self.cluster_name!r} is not a valid EKS cluster name",
        )
        require(
            _K8S_VERSION.match(self.kubernetes_version) is not None,
            f"kubernetesVersion {self.kubernetes_version!r} must look like 1.33",
        )
        require(len(self.node_instance_types) > 0, "nodeInstanceTypes must not be empty")
        require(
            1 <= self.node_min_size <= self.node_desired_size <= self.node_max_size,
            "need 1 <= nodeMinSize <= nodeDesiredSize <= nodeMaxSize, got "
            f"{self.node_min_size}/{self.node_desired_size}/{self.node_max_size}",
        )
        require(self.node_disk_size_gb >= 20, "nodeDiskSizeGb must be >= 20")
        require(
            self.cluster_log_retention_days in _LOG_RETENTION_DAYS,
            f"clusterLogRetentionDays must be one of {sorted(_LOG_RETENTION_DAYS)}",
        )

    def _check_network(self) -> None:
        try:
            network = ipaddress.ip_network(self.vpc_cidr)
        except ValueError as exc:
            raise ConfigError(f"vpcCidr {self.vpc_cidr!r} is not a CIDR block: {exc}") from exc
        require(
            isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 20,
            f"vpcCidr {self.vpc_cidr!r} must be an IPv4 block between /16 and /20",
        )
        zones = len(self.availability_zones) or self.az_count
        require(
            2 <= zones <= _MAX_AZS,
            f"the stack needs between 2 and {_MAX_AZS} availability zones, got {zones}",
        )
        require(len(self.api_public_access_cidrs) > 0, "apiPublicAccessCidrs must not be empty")
        egress_blocks(self.function_egress_cidrs, self.vpc_cidr)

    def _check_names(self) -> None:
        for key, value in (
            ("functionsNamespace", self.functions_namespace),
            ("systemNamespace", self.system_namespace),
            ("ingressGroup", self.ingress_group),
            ("ingressClass", self.ingress_class),
            ("storageClass", self.storage_class),
        ):
            require(_DNS_LABEL.match(value) is not None, f"{key} {value!r} is not a DNS label")
        require(
            self.functions_namespace != self.system_namespace,
            "functionsNamespace and systemNamespace must differ",
        )
        require(
            _BUCKET_PREFIX.match(self.bucket_prefix) is not None,
            f"bucketPrefix {self.bucket_prefix!r}: lowercase letters, digits, '-', 2-36 chars",
        )
        require(
            _QUANTITY.match(self.mongo_storage_size) is not None,
            f"mongoStorageSize {self.mongo_storage_size!r} must look like 20Gi",
        )
        require(self.noncurrent_version_days >= 0, "noncurrentVersionDays must be >= 0")
        require(bool(self.mongo_username), "mongoUsername must not be empty")
