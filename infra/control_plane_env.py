"""The settings of the in-cluster control plane, as its container's environment.

Plain values for what is no secret, `secretKeyRef`s for the rest: a secret's value is never in
the Deployment, so never in its state. `settings_env` is shared with the real-node e2e test,
which deploys the same objects with settings of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from infra.config import FUNCTION_SERVICE_ACCOUNT, STATE_PREFIX, StackConfig
from infra.control_plane_config import NAME, PORT, allowed_hosts, in_cluster_url
from infra.mongodb import URI_KEY

IMAGES_DIR = "/etc/lambdaclone/images"
IMAGES_LOCK_FILE = "images.lock.json"
PASSPHRASE_KEY = "passphrase"  # noqa: S105 - a key name, not a value
ADMIN_TOKEN_KEY = "admin-token"  # noqa: S105 - a key name, not a value
SECRET_KEY_KEY = "secret-key"  # noqa: S105 - a key name, not a value
POD_IP_ENV = "POD_IP"
SecretRef = tuple[pulumi.Input[str], str]
"""(Secret name, key) of an environment variable's value."""


def settings_env(
    plain: Mapping[str, pulumi.Input[str]], secrets: Mapping[str, SecretRef]
) -> list[k8s.core.v1.EnvVarArgs]:
    """`LAMBDACLONE_*` settings (engine/settings.py) as environment variables."""
    env = [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items()]
    env += [_from_secret(name, secret, key) for name, (secret, key) in secrets.items()]
    return env


def control_plane_env(
    config: StackConfig, bucket_name: pulumi.Input[str], mongo_secret: pulumi.Input[str]
) -> list[k8s.core.v1.EnvVarArgs]:
    """The settings of an in-cluster control plane on EKS: plain values for what is no secret,
    `secretKeyRef`s for the rest (never a value in the Deployment, so never in its state)."""
    backend = pulumi.Output.concat(
        "s3://", bucket_name, "/", STATE_PREFIX.rstrip("/"), "?region=", config.region
    )
    plain: dict[str, pulumi.Input[str]] = {
        "LAMBDACLONE_HOST": "0.0.0.0",
        "LAMBDACLONE_PORT": str(PORT),
        "LAMBDACLONE_TARGET": "kubernetes",
        "LAMBDACLONE_NAMESPACE": config.functions_namespace,
        "LAMBDACLONE_K8S_SERVICE_ACCOUNT": FUNCTION_SERVICE_ACCOUNT,
        "LAMBDACLONE_CODE_STORE": "s3",
        "LAMBDACLONE_K8S_CODE_STORE": "s3",
        "LAMBDACLONE_S3_BUCKET": bucket_name,
        "LAMBDACLONE_S3_REGION": config.region,
        "LAMBDACLONE_INGRESS_CLASS": config.ingress_class,
        "LAMBDACLONE_INGRESS_GROUP": config.ingress_group,
        # Function pods fetch built packages from here (ADR 0048; their egress policy opens it).
        "LAMBDACLONE_K8S_ARTIFACT_URL": in_cluster_url(config),
        "LAMBDACLONE_PULUMI_BACKEND_URL": backend,
        "AWS_REGION": config.region,
        # The load balancer's nodes live in the VPC: only their X-Forwarded-For is believed.
        "LAMBDACLONE_FORWARDED_ALLOW_IPS": config.vpc_cidr,
        # The pod's own IP too: the load balancer's health checks send it as the Host.
        "LAMBDACLONE_ALLOWED_HOSTS": ",".join(
            [*allowed_hosts(config, config.system_namespace), f"$({POD_IP_ENV})"]
        ),
    }
    if config.control_plane_cors_origins:
        plain["LAMBDACLONE_CORS_ORIGINS"] = ",".join(config.control_plane_cors_origins)
    if config.images_lock:
        plain["LAMBDACLONE_IMAGE_REGISTRY"] = f"{IMAGES_DIR}/{IMAGES_LOCK_FILE}"
    if config.control_plane_public_url:
        plain["LAMBDACLONE_PUBLIC_URL"] = config.control_plane_public_url
    secrets = {"LAMBDACLONE_MONGODB_URI": (mongo_secret, URI_KEY), **control_plane_secret_refs()}
    return settings_env(plain, secrets)


def control_plane_secret_refs() -> dict[str, SecretRef]:
    """The settings `build_control_plane` keeps in its Secrets, by Secret and key."""
    return {
        "LAMBDACLONE_PULUMI_PASSPHRASE": (passphrase_secret_name(), PASSPHRASE_KEY),
        "LAMBDACLONE_ADMIN_TOKEN": (auth_secret_name(), ADMIN_TOKEN_KEY),
        "LAMBDACLONE_SECRET_KEY": (auth_secret_name(), SECRET_KEY_KEY),
    }


def passphrase_secret_name() -> str:
    return f"{NAME}-pulumi"


def auth_secret_name() -> str:
    return f"{NAME}-auth"


def _from_secret(name: str, secret: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key)
        ),
    )
