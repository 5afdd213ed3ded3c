"""MongoDB for the control plane: one `mongo:7` pod with an EBS volume, reachable only in-cluster.

Deliberately small (a single-member StatefulSet, no chart): the control plane's data is a few
collections of function metadata. What matters is that it is never exposed — the Service is
ClusterIP, nothing routes an Ingress to it, and a NetworkPolicy admits only the control plane's
pods (an operator's `kubectl port-forward` enters the pod itself and is not subject to it), so
user functions cannot reach it where the CNI enforces policies (infra/network_policies.py).
For a replica set or a managed service, point `LAMBDACLONE_MONGODB_URI` elsewhere; nothing
else depends on this module.

Credentials come from the required secret config `mongoPassword` (see docs/deploy-aws.md): they
are stored in a Kubernetes Secret and exported only inside the secret `mongoUri` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS

NAME = "mongodb"
PORT = 27017
URI_KEY = "uri"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "lambdaclone"}
_MONGO_UID = 999
_ROOT_USER_KEY = "MONGO_INITDB_ROOT_USERNAME"
_ROOT_SECRET_KEY = "MONGO_INITDB_ROOT_PASSWORD"  # noqa: S105 - a key name, not a value
_ROOT_CREDENTIAL_KEYS = (_ROOT_USER_KEY, _ROOT_SECRET_KEY)


@dataclass(frozen=True)
class MongoDB:
    namespace: k8s.core.v1.Namespace
    secret_name: pulumi.Output[str]
    uri: pulumi.Output[str]


def mongo_uri(username: str, password: str, host: str, database: str) -> str:
    return (
        f"mongodb://{quote_plus(username)}:{quote_plus(password)}@{host}:{PORT}/"
        f"{database}?authSource=admin"
    )


def build_system_namespace(config: StackConfig, provider: k8s.Provider) -> k8s.core.v1.Namespace:
    """The namespace of the platform itself (MongoDB, control plane); not for user code."""
    return k8s.core.v1.Namespace(
        config.system_namespace,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=config.system_namespace,
            labels={
                "app.kubernetes.io/part-of": "lambdaclone",
                "pod-security.kubernetes.io/enforce": "baseline",
            },
        ),
        opts=pulumi.ResourceOptions(provider=provider),
    )


def build_mongodb(
    config: StackConfig,
    provider: k8s.Provider,
    storage_class: k8s.storage.v1.StorageClass,
) -> MongoDB:
    namespace = build_system_namespace(config, provider)
    opts = pulumi.ResourceOptions(provider=provider, depends_on=[namespace])
    host = f"{NAME}.{config.system_namespace}.svc.cluster.local"
    uri: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.from_input(config.mongo_password).apply(
            lambda password: mongo_uri(config.mongo_username, password, host, config.mongo_database)
        )
    )
    secret = k8s.core.v1.Secret(
        f"{NAME}-credentials",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{NAME}-credentials", namespace=config.system_namespace, labels=_LABELS
        ),
        type="Opaque",
        string_data={
            _ROOT_USER_KEY: config.mongo_username,
            _ROOT_SECRET_KEY: pulumi.Output.secret(config.mongo_password),
            URI_KEY: uri,
        },
        opts=opts,
    )
    k8s.core.v1.Service(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME, namespace=config.system_namespace, labels=_LABELS
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=_LABELS,
            ports=[k8s.core.v1.ServicePortArgs(name="mongodb", port=PORT, target_port=PORT)],
        ),
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{NAME}-control-plane-only",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{NAME}-control-plane-only", namespace=config.system_namespace
        ),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=_LABELS),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels=CONTROL_PLANE_LABELS
                            )
                        )
                    ],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=PORT, protocol="TCP")],
                )
            ],
        ),
        opts=opts,
    )
    _statefulset(config, secret.metadata.name, storage_class, opts)
    return MongoDB(namespace=namespace, secret_name=secret.metadata.name, uri=uri)


def _secret_env(key: str, secret_name: pulumi.Output[str]) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(
        name=key,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key)
        ),
    )


def _statefulset(
    config: StackConfig,
    secret_name: pulumi.Output[str],
    storage_class: k8s.storage.v1.StorageClass,
    opts: pulumi.ResourceOptions,
) -> k8s.apps.v1.StatefulSet:
    ping = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
    container = k8s.core.v1.ContainerArgs(
        name=NAME,
        image=config.mongo_image,
        ports=[k8s.core.v1.ContainerPortArgs(name="mongodb", container_port=PORT)],
        env=[_secret_env(key, secret_name) for key in _ROOT_CREDENTIAL_KEYS],
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data/db")],
        readiness_probe=k8s.core.v1.ProbeArgs(
            exec_=k8s.core.v1.ExecActionArgs(command=ping),
            initial_delay_seconds=10,
            period_seconds=10,
            timeout_seconds=5,
        ),
        liveness_probe=k8s.core.v1.ProbeArgs(
            exec_=k8s.core.v1.ExecActionArgs(command=ping),
            initial_delay_seconds=30,
            period_seconds=20,
            timeout_seconds=5,
            failure_threshold=6,
        ),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "250m", "memory": "512Mi"},
            limits={"memory": "1Gi"},
        ),
    )
    return k8s.apps.v1.StatefulSet(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME, namespace=config.system_namespace, labels=_LABELS
        ),
        spec=k8s.apps.v1.StatefulSetSpecArgs(
            service_name=NAME,
            replicas=1,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=_LABELS),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=_LABELS),
                spec=k8s.core.v1.PodSpecArgs(
                    automount_service_account_token=False,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        fs_group=_MONGO_UID, fs_group_change_policy="OnRootMismatch"
                    ),
                    containers=[container],
                ),
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="data"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=storage_class.metadata.name,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                            requests={"storage": config.mongo_storage_size}
                        ),
                    ),
                )
            ],
        ),
        opts=opts,
    )
