"""Optionally run the control plane (API + console) in the cluster, behind the shared ALB.

Off by default (`deployControlPlane`): the first deployment usually runs the control plane from
an operator's machine against the stack outputs, and the image has to be built and pushed
somewhere first. When on, the pod runs as the least-privileged control-plane service account,
keeps the function stacks' Pulumi state in the code bucket (under `pulumi-state/`), and gets the
catch-all `/` rule of the shared ALB with a low priority, so every `/endpoint/<key>` rule the
function stacks add wins over it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from infra.access import Access
from infra.bucket import CodeBucket
from infra.config import FUNCTION_SERVICE_ACCOUNT, STATE_PREFIX, StackConfig
from infra.mongodb import URI_KEY, MongoDB

NAME = "lambdaclone-control-plane"
PORT = 8000
CATCH_ALL_ORDER = "1000"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "lambdaclone"}
_PASSPHRASE_KEY = "passphrase"  # noqa: S105 - a key name, not a value


def control_plane_env(
    config: StackConfig, bucket_name: pulumi.Input[str], mongo_secret: pulumi.Input[str]
) -> list[k8s.core.v1.EnvVarArgs]:
    """The `LAMBDACLONE_*` settings of an in-cluster control plane (engine/settings.py)."""
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
        "LAMBDACLONE_PULUMI_BACKEND_URL": backend,
        "AWS_REGION": config.region,
        # Only the ALB reaches the pod: trust its X-Forwarded-For and any Host it forwards
        # (narrowed to the public URL's host below when one is configured).
        "LAMBDACLONE_FORWARDED_ALLOW_IPS": "*",
        "LAMBDACLONE_ALLOWED_HOSTS": "*",
    }
    if config.control_plane_public_url:
        plain["LAMBDACLONE_PUBLIC_URL"] = config.control_plane_public_url
        plain["LAMBDACLONE_ALLOWED_HOSTS"] = urlsplit(config.control_plane_public_url).netloc
    env = [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items()]
    env += [
        _from_secret("LAMBDACLONE_MONGODB_URI", mongo_secret, URI_KEY),
        _from_secret("LAMBDACLONE_PULUMI_PASSPHRASE", f"{NAME}-pulumi", _PASSPHRASE_KEY),
    ]
    return env


def _from_secret(name: str, secret: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key)
        ),
    )


def build_control_plane(
    config: StackConfig,
    *,
    provider: k8s.Provider,
    access: Access,
    bucket: CodeBucket,
    mongodb: MongoDB,
    depends_on: list[pulumi.Resource],
) -> k8s.networking.v1.Ingress:
    """Deployment, ClusterIP Service, catch-all Ingress; `depends_on` holds the ALB controller."""
    namespace = config.system_namespace
    opts = pulumi.ResourceOptions(provider=provider, depends_on=[mongodb.namespace])
    passphrase = k8s.core.v1.Secret(
        f"{NAME}-pulumi",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{NAME}-pulumi", namespace=namespace),
        string_data={_PASSPHRASE_KEY: pulumi.Output.secret(config.pulumi_passphrase or "")},
        opts=opts,
    )
    deployment = k8s.apps.v1.Deployment(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=_LABELS),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=config.control_plane_replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=_LABELS),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=_LABELS),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=access.control_plane_service_account,
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="api",
                            image=config.control_plane_image,
                            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
                            env=control_plane_env(config, bucket.name, mongodb.secret_name),
                            readiness_probe=k8s.core.v1.ProbeArgs(
                                http_get=k8s.core.v1.HTTPGetActionArgs(
                                    path="/lambda/runtimes", port=PORT
                                ),
                                period_seconds=10,
                            ),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                run_as_non_root=True,
                            ),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[passphrase, *depends_on])
        ),
    )
    service = k8s.core.v1.Service(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=_LABELS),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=_LABELS,
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port=PORT)],
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[deployment])),
    )
    return k8s.networking.v1.Ingress(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME,
            namespace=namespace,
            labels=_LABELS,
            annotations={
                "alb.ingress.kubernetes.io/group.name": config.ingress_group,
                "alb.ingress.kubernetes.io/group.order": CATCH_ALL_ORDER,
                "alb.ingress.kubernetes.io/scheme": "internet-facing",
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/healthcheck-path": "/lambda/runtimes",
            },
        ),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name=config.ingress_class,
            rules=[
                k8s.networking.v1.IngressRuleArgs(
                    http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                        paths=[
                            k8s.networking.v1.HTTPIngressPathArgs(
                                path="/",
                                path_type="Prefix",
                                backend=k8s.networking.v1.IngressBackendArgs(
                                    service=k8s.networking.v1.IngressServiceBackendArgs(
                                        name=service.metadata.name,
                                        port=k8s.networking.v1.ServiceBackendPortArgs(name="http"),
                                    )
                                ),
                            )
                        ]
                    )
                )
            ],
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
    )
