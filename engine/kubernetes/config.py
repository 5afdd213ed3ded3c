"""Where and how functions are provisioned: the cluster side of a function's program.

Resolved once per target from the settings, or from the base stack's outputs when the settings
name one (`settings.base_stack`): kubeconfig, namespace, code bucket, ingress class and group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from engine.catalog import BUILTIN_VERSIONS, image_for
from engine.errors import CatalogSourceMissing
from engine.settings import Settings
from runtimes.registry import RUNTIME_API

CodeStore = Literal["configmap", "s3"]
PROGRAM_VERSION = "3"
"""Bump when the program's resources change shape, so unchanged specs are applied again."""

BASE_OUTPUTS = {
    "kubeconfig": "kubeconfig",
    "functionsNamespace": "namespace",
    "codeBucket": "bucket",
    "ingressClass": "ingress_class",
    "ingressGroup": "ingress_group",
    "region": "s3_region",
}
"""Base-stack output name → ClusterConfig field."""


@dataclass(frozen=True)
class ClusterConfig:
    namespace: str
    code_store: CodeStore
    ingress_class: str
    ingress_group: str
    kubeconfig: str | None = None
    """Kubeconfig text; None means the ambient configuration (in-cluster service account)."""
    context: str | None = None
    bucket: str = "lambdaclone-code"
    s3_region: str = "us-east-1"
    s3_endpoint_url: str | None = None
    code_store_bucket: str | None = None
    """The bucket of the control plane's S3 code store, when it has one."""
    alb_scheme: str = "internet-facing"
    skip_await_ingress: bool = False
    fetch_image: str = "public.ecr.aws/aws-cli/aws-cli:2.22.35"
    service_account: str | None = None
    replicas: int = 1
    await_timeout_s: int = 300
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where function pods may run (empty: anywhere); with `tolerations`, e.g. a node pool."""
    tolerations: tuple[Mapping[str, str], ...] = ()
    drain_s: int = 5
    """The preStop pause of a replaced pod (see `resources.lifecycle`)."""
    aws_region: str = "us-east-1"
    """What functions see as AWS_REGION (the operator's `aws_region`)."""
    artifact_url: str = ""
    """The control plane's URL as pods reach it (built artifacts); empty: none are served."""
    artifact_image: str = ""
    """The init container's image (runtime-provided, by the catalog's naming), which also
    runs Go `lambda.Start` programs behind the Runtime API."""

    @property
    def is_alb(self) -> bool:
        return self.ingress_class == "alb"

    @property
    def artifact_shared(self) -> bool:
        """The code store writes the same S3 objects, so it (not Pulumi) deletes them."""
        return self.code_store == "s3" and self.code_store_bucket == self.bucket

    def fingerprint(self) -> str:
        """What, besides the spec, decides the resources; credentials are left out."""
        values = asdict(self)
        values.pop("kubeconfig")
        values.pop("context")
        values["program"] = PROGRAM_VERSION
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def from_settings(settings: Settings) -> ClusterConfig:
    kubeconfig = settings.kubeconfig
    return ClusterConfig(
        namespace=settings.namespace,
        code_store=settings.k8s_code_store,
        ingress_class=settings.ingress_class,
        ingress_group=settings.ingress_group,
        kubeconfig=kubeconfig.read_text() if kubeconfig else None,
        context=settings.kube_context,
        bucket=settings.s3_bucket,
        s3_region=settings.s3_region,
        s3_endpoint_url=settings.s3_endpoint_url,
        code_store_bucket=settings.s3_bucket if settings.code_store == "s3" else None,
        alb_scheme=settings.k8s_alb_scheme,
        skip_await_ingress=settings.skip_await_ingress,
        fetch_image=settings.k8s_fetch_image,
        service_account=settings.k8s_service_account,
        replicas=settings.k8s_replicas,
        await_timeout_s=settings.k8s_await_timeout_s,
        node_selector=dict(settings.k8s_node_selector),
        tolerations=tuple(dict(t) for t in settings.k8s_tolerations),
        drain_s=settings.k8s_drain_s,
        aws_region=settings.aws_region,
        artifact_url=settings.k8s_artifact_url.rstrip("/"),
        artifact_image=runtime_api_image(settings.image_registry),
    )


def runtime_api_image(registry: str) -> str:
    """runtime-provided's image as the catalog names it (by digest with an images lock); ""
    when the lock has none (then no built artifact can be fetched)."""
    try:
        return image_for(RUNTIME_API, dict(BUILTIN_VERSIONS)[RUNTIME_API], registry)
    except CatalogSourceMissing:
        return ""


def with_base_outputs(config: ClusterConfig, outputs: Mapping[str, object]) -> ClusterConfig:
    """The settings' configuration overridden by the base stack's outputs that are present."""
    changes = {
        field: str(outputs[name])
        for name, field in BASE_OUTPUTS.items()
        if outputs.get(name) not in (None, "")
    }
    return replace(config, **changes)  # type: ignore[arg-type]
