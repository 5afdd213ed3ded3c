"""The per-function Pulumi program: providers, then one component holding the function's
code artifact, Deployment, NodePort Service and Ingress.

`function_program(spec, cfg)` returns the inline program the Automation API runs; the objects'
shapes come from the pure builders in `resources.py`. The resource classes are imported by name
here, and the modules they use are loaded at import (`preload_sdk_modules`): the SDKs load
modules lazily, and a first load racing in several program threads at once fails
("module 'pulumi_kubernetes.meta' has no attribute 'v1'").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

import pulumi
from pulumi_kubernetes import Provider as KubernetesProvider
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import ConfigMap, Secret, Service
from pulumi_kubernetes.networking.v1 import Ingress

from engine.errors import TargetError
from engine.kubernetes import names, resources
from engine.kubernetes.artifact_pod import PULL_TOKEN_KEY
from engine.kubernetes.aws_sdk import AwsProvider, BucketObjectv2
from engine.kubernetes.builds import PodArtifact
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.resources import Artifact
from engine.plan import ResourceChange
from engine.spec import FunctionSpec, sha256_text

LAZY_SDK_MODULES = (
    "pulumi_kubernetes.meta",
    "pulumi_kubernetes.meta.v1",
    "pulumi_kubernetes.core",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.apps",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.networking",
    "pulumi_kubernetes.networking.v1",
)
CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap"
SECRET_TYPE = "kubernetes:core/v1:Secret"  # noqa: S105 - a type name, not a password
S3_OBJECT_TYPE = "aws:s3/bucketObjectv2:BucketObjectv2"
DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment"
SERVICE_TYPE = "kubernetes:core/v1:Service"
INGRESS_TYPE = "kubernetes:networking.k8s.io/v1:Ingress"
SPEC_HASH_OUTPUT = "specHash"
DESIRED_HASH_OUTPUT = "desiredHash"


class FunctionResources(pulumi.ComponentResource):
    """Everything one function owns in the cluster (and, for the S3 store, in the bucket)."""

    def __init__(
        self,
        spec: FunctionSpec,
        cfg: ClusterConfig,
        secret_values: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
        built: PodArtifact | None = None,
    ) -> None:
        super().__init__(names.COMPONENT_TYPE, names.object_name(spec.key), None, opts)
        art = Artifact.of(spec)
        child = pulumi.ResourceOptions(parent=self)
        awaited = pulumi.ResourceOptions.merge(child, await_options(cfg))
        inputs: list[pulumi.Resource] = []
        self.code: pulumi.CustomResource | None = None
        if built is None:  # a built artifact is fetched by the pods, not declared here
            self.code = code_artifact(spec, cfg, art, child)
            inputs.append(self.code)
        if spec.config.secrets or built is not None:
            values = {**secret_values, **({PULL_TOKEN_KEY: built.token} if built else {})}
            inputs.append(function_secret(spec, cfg, values, child))
        self.deployment = Deployment(
            "deployment",
            **resources.deployment(spec, cfg, art, built),
            opts=pulumi.ResourceOptions.merge(awaited, pulumi.ResourceOptions(depends_on=inputs)),
        )
        self.service = Service("service", **resources.service(spec, cfg), opts=awaited)
        self.ingress: Ingress | None = None
        if resources.serves_through_ingress(spec):
            self.ingress = Ingress(
                "ingress",
                **resources.ingress(spec, cfg),
                opts=pulumi.ResourceOptions.merge(
                    awaited, pulumi.ResourceOptions(depends_on=[self.service])
                ),
            )
        self.node_port: pulumi.Output[int] = self.service.spec.apply(_node_port)
        self.cluster_ip: pulumi.Output[str] = self.service.spec.apply(_cluster_ip)
        self.register_outputs({"nodePort": self.node_port, "clusterIp": self.cluster_ip})


def await_options(cfg: ClusterConfig) -> pulumi.ResourceOptions:
    """Bounds each object's create or update by `await_timeout_s` instead of
    pulumi-kubernetes's default ten minutes (its readiness awaits are skipped: the target
    waits for the rollout itself, see `rollout.py`)."""
    timeout = f"{cfg.await_timeout_s}s"
    return pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)
    )


def function_secret(
    spec: FunctionSpec,
    cfg: ClusterConfig,
    values: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> Secret:
    """The function's secret values as a Kubernetes Secret, given to Pulumi as a secret: its
    state holds them only encrypted (the stack's secrets provider), and previews show
    `[secret]`. A value the sealed set names but `values` lacks is an error, not an empty
    variable."""
    missing = [name for name in spec.config.secrets.names() if name not in values]
    if missing:
        raise TargetError(f"the secrets {', '.join(missing)} could not be opened")
    data = {name: values[name] for name in spec.config.secrets.names()}
    if PULL_TOKEN_KEY in values:
        data[PULL_TOKEN_KEY] = values[PULL_TOKEN_KEY]
    return Secret(
        "secrets",
        **resources.function_secret(spec, cfg),
        string_data=pulumi.Output.secret(data),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
        ),
    )


def code_artifact(
    spec: FunctionSpec, cfg: ClusterConfig, art: Artifact, opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    """A ConfigMap holding the code, or the S3 object the init container downloads."""
    if cfg.code_store == "configmap":
        return ConfigMap("code", **resources.code_configmap(spec, cfg, art), opts=opts)
    return BucketObjectv2(
        "code",
        bucket=cfg.bucket,
        key=art.object_key,
        content=spec.code,
        content_type="text/plain; charset=utf-8",
        tags={names.KEY_LABEL: spec.key, names.MANAGED_BY_LABEL: names.MANAGED_BY_VALUE},
        opts=pulumi.ResourceOptions.merge(opts, artifact_options(cfg)),
    )


def artifact_options(cfg: ClusterConfig) -> pulumi.ResourceOptions:
    """When the control plane's S3 code store writes the same object, it owns the object's
    deletion (a replaced revision's blob must outlive this stack's update)."""
    return pulumi.ResourceOptions(retain_on_delete=cfg.artifact_shared)


def kubernetes_provider(cfg: ClusterConfig) -> KubernetesProvider:
    """Explicit in every program; ConfigMaps update in place (the code-hash annotation on the
    pod template is what rolls the pods), instead of v4's default replace-on-change."""
    return KubernetesProvider(
        "kubernetes",
        kubeconfig=cfg.kubeconfig,
        context=cfg.context,
        namespace=cfg.namespace,
        enable_server_side_apply=True,
        enable_config_map_mutable=True,
    )


def aws_provider(cfg: ClusterConfig) -> AwsProvider:
    endpoint = cfg.s3_endpoint_url
    if endpoint is None:
        return AwsProvider("aws", region=cfg.s3_region)
    return AwsProvider(
        "aws",
        region=cfg.s3_region,
        endpoints=[{"s3": endpoint}],
        s3_use_path_style=True,
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
    )


def desired_hash(spec: FunctionSpec, cfg: ClusterConfig) -> str:
    """Identifies what an `up` would converge to: the spec and the cluster-side settings."""
    return sha256_text(f"{spec.spec_hash}:{cfg.fingerprint()}")


def build(
    spec: FunctionSpec,
    cfg: ClusterConfig,
    secret_values: Mapping[str, str],
    built: PodArtifact | None = None,
) -> FunctionResources:
    """Declare the function's resources in the current stack and export what callers read."""
    providers: list[pulumi.ProviderResource] = [kubernetes_provider(cfg)]
    if cfg.code_store == "s3" and built is None:
        providers.append(aws_provider(cfg))
    function = FunctionResources(
        spec, cfg, secret_values, pulumi.ResourceOptions(providers=providers), built
    )
    pulumi.export(SPEC_HASH_OUTPUT, spec.spec_hash)
    pulumi.export(DESIRED_HASH_OUTPUT, desired_hash(spec, cfg))
    pulumi.export("namespace", cfg.namespace)
    pulumi.export("service", names.object_name(spec.key))
    pulumi.export("endpointPath", names.endpoint_path(spec.key))
    pulumi.export("nodePort", function.node_port)
    pulumi.export("clusterIp", function.cluster_ip)
    pulumi.export("timeoutMs", spec.limits.timeout_ms)
    pulumi.export("concurrency", spec.limits.concurrency)
    pulumi.export("memoryMb", spec.limits.memory_mb)
    pulumi.export("auth", spec.config.auth)
    return function


def planned_resources(
    spec: FunctionSpec, cfg: ClusterConfig, built: bool = False
) -> tuple[ResourceChange, ...]:
    """What a first `up` creates (the preview of a function that has no stack yet)."""
    code_type = CONFIGMAP_TYPE if cfg.code_store == "configmap" else S3_OBJECT_TYPE
    inventory = [(names.object_name(spec.key), names.COMPONENT_TYPE)]
    if not built:
        inventory.append(("code", code_type))
    if spec.config.secrets or built:
        inventory.append(("secrets", SECRET_TYPE))
    inventory += [("deployment", DEPLOYMENT_TYPE), ("service", SERVICE_TYPE)]
    if resources.serves_through_ingress(spec):
        inventory.append(("ingress", INGRESS_TYPE))
    return tuple(ResourceChange(name, type_, "create") for name, type_ in inventory)


def function_program(
    spec: FunctionSpec,
    cfg: ClusterConfig,
    secret_values: Mapping[str, str],
    built: PodArtifact | None = None,
) -> Callable[[], None]:
    """The inline program; `secret_values` are the spec's secrets opened, which only the
    function's Secret receives (with `built`'s pull token)."""

    def program() -> None:
        build(spec, cfg, secret_values, built)

    return program


def _node_port(service_spec: object) -> int:
    ports = getattr(service_spec, "ports", None) or []
    return int(getattr(ports[0], "node_port", 0) or 0) if ports else 0


def _cluster_ip(service_spec: object) -> str:
    return str(getattr(service_spec, "cluster_ip", "") or "")


def preload_sdk_modules() -> None:
    """Execute the SDKs' lazily loaded modules now, while only one thread imports them."""
    for name in LAZY_SDK_MODULES:
        vars(importlib.import_module(name))


preload_sdk_modules()
