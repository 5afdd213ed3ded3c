"""Optionally run the control plane (API + console) in the cluster, behind its own ALB.

Off by default (`deployControlPlane`): the first deployment usually runs the control plane from
an operator's machine against the stack outputs, and the image has to be built and pushed
somewhere first. When on, the pod runs as the least-privileged control-plane service account,
keeps the function stacks' Pulumi state in the code bucket (under `pulumi-state/`), and is
reached through a load balancer of its own (infra/control_plane_ingress.py): internal unless
configured otherwise, never the functions' public one. Its admin token and secret-sealing key
come from a Secret (`lambdaclone-control-plane-auth`) whose values are Pulumi secrets; the
Deployment refers to them by `secretKeyRef` only.

The image runs as 65532 on a read-only root filesystem: its data directory (Pulumi's home and
the function stacks' workspaces; the state itself is in S3) and `/tmp` are emptyDirs, and the
images lock (`imagesLock`, which names the runtime images by digest) is a ConfigMap.
`build_control_plane` takes the settings as environment variables, so the real-node e2e test
deploys the very same objects into its test cluster with settings of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.control_plane_config import INTERNAL_PORT_NAME, LABELS, NAME, PORT
from infra.control_plane_env import (
    ADMIN_TOKEN_KEY,
    IMAGES_DIR,
    IMAGES_LOCK_FILE,
    PASSPHRASE_KEY,
    POD_IP_ENV,
    SECRET_KEY_KEY,
    auth_secret_name,
    control_plane_env,
    control_plane_secret_refs,
    passphrase_secret_name,
    settings_env,
)
from infra.control_plane_ingress import build_ingress, control_plane_ingress_class

__all__ = [
    "IMAGES_DIR",
    "IMAGES_LOCK_FILE",
    "NAME",
    "PORT",
    "Placement",
    "build_control_plane",
    "control_plane_env",
    "control_plane_secret_refs",
    "settings_env",
]

RUN_AS = 65532
DATA_VOLUME = "/var/lib/lambdaclone"
DATA_DIR = f"{DATA_VOLUME}/data"
"""Inside the volume: an emptyDir's root belongs to root, and the control plane makes its data
directory its own (owner-only) when it creates it."""


@dataclass(frozen=True)
class Placement:
    """Where the pod may run: empty on EKS; the e2e test steers it to its real node."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, str]] = ()


def _secret(
    config: StackConfig,
    name: str,
    values: dict[str, pulumi.Input[str] | None],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """A Secret whose values are Pulumi secrets: encrypted in the state, hidden in previews."""
    return k8s.core.v1.Secret(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=config.system_namespace, labels=LABELS
        ),
        type="Opaque",
        string_data={key: pulumi.Output.secret(value or "") for key, value in values.items()},
        opts=opts,
    )


def build_control_plane(
    config: StackConfig,
    *,
    provider: k8s.Provider,
    namespace: k8s.core.v1.Namespace,
    service_account: pulumi.Input[str],
    env: Sequence[k8s.core.v1.EnvVarArgs],
    depends_on: Sequence[pulumi.Resource] = (),
    placement: Placement | None = None,
    ingress_class: str | None = None,
) -> k8s.networking.v1.Ingress:
    """The passphrase and auth Secrets, the images-lock ConfigMap, Deployment, ClusterIP
    Service and Ingress in `config.system_namespace`; `depends_on` holds the ingress
    controller. `ingress_class` defaults to the control plane's own ALB class (its class
    objects come from `build_control_plane_ingress_class`); the e2e test gives its own."""
    opts = pulumi.ResourceOptions(provider=provider, depends_on=[namespace])
    passphrase = _secret(
        config, passphrase_secret_name(), {PASSPHRASE_KEY: config.pulumi_passphrase}, opts
    )
    auth = _secret(
        config,
        auth_secret_name(),
        {ADMIN_TOKEN_KEY: config.admin_token, SECRET_KEY_KEY: config.secret_key},
        opts,
    )
    needs: list[pulumi.Resource] = [passphrase, auth, *depends_on]
    if config.images_lock:
        needs.append(_images_configmap(config, opts))
    deployment = k8s.apps.v1.Deployment(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME, namespace=config.system_namespace, labels=LABELS
        ),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=config.control_plane_replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=LABELS),
                spec=_pod_spec(config, service_account, env, placement or Placement()),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=needs)),
    )
    service = k8s.core.v1.Service(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME, namespace=config.system_namespace, labels=LABELS
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=LABELS,
            # `internal` first: function pods' egress rule opens the first port targeting PORT
            # (PORT's doc); `http` is the Ingress's and port-forwards'.
            ports=[
                k8s.core.v1.ServicePortArgs(name=INTERNAL_PORT_NAME, port=PORT, target_port=PORT),
                k8s.core.v1.ServicePortArgs(name="http", port=80, target_port=PORT),
            ],
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[deployment])),
    )
    return build_ingress(
        config, service, ingress_class or control_plane_ingress_class(config), opts, depends_on
    )


def _images_configmap(config: StackConfig, opts: pulumi.ResourceOptions) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        f"{NAME}-images",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{NAME}-images", namespace=config.system_namespace, labels=LABELS
        ),
        data={IMAGES_LOCK_FILE: config.images_lock},
        opts=opts,
    )


def _pod_spec(
    config: StackConfig,
    service_account: pulumi.Input[str],
    env: Sequence[k8s.core.v1.EnvVarArgs],
    placement: Placement,
) -> k8s.core.v1.PodSpecArgs:
    mounts = [
        k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_VOLUME),
        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),  # noqa: S108 - an emptyDir
    ]
    volumes = [
        k8s.core.v1.VolumeArgs(name="data", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
    ]
    if config.images_lock:
        mounts.append(
            k8s.core.v1.VolumeMountArgs(name="images", mount_path=IMAGES_DIR, read_only=True)
        )
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="images",
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=f"{NAME}-images"),
            )
        )
    container = k8s.core.v1.ContainerArgs(
        name="api",
        image=config.control_plane_reference,
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
        env=[
            # First: `$(POD_IP)` in a later value (the allowed hosts) expands to it.
            k8s.core.v1.EnvVarArgs(
                name=POD_IP_ENV,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="status.podIP")
                ),
            ),
            k8s.core.v1.EnvVarArgs(name="LAMBDACLONE_DATA_DIR", value=DATA_DIR),
            *env,
        ],
        # A TCP probe: every HTTP route but the invoke path will need a token.
        readiness_probe=k8s.core.v1.ProbeArgs(
            tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=PORT), period_seconds=2
        ),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "2Gi"}
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            run_as_non_root=True,
            read_only_root_filesystem=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        ),
        volume_mounts=mounts,
    )
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=RUN_AS,
            run_as_group=RUN_AS,
            fs_group=RUN_AS,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        node_selector=dict(placement.node_selector) or None,
        tolerations=[toleration_args(t) for t in placement.tolerations] or None,
        containers=[container],
        volumes=volumes,
    )


def toleration_args(spec: Mapping[str, str]) -> k8s.core.v1.TolerationArgs:
    return k8s.core.v1.TolerationArgs(
        key=spec.get("key"),
        operator=spec.get("operator"),
        value=spec.get("value"),
        effect=spec.get("effect"),
    )
