"""Pure builders of a function's Kubernetes objects, as plain manifests (camelCase dicts).

The Pulumi program (`program.py`) hands these to pulumi-kubernetes unchanged, and tests check
them without Pulumi. Nothing here does I/O.

Every object carries `pulumi.com/skipAwait`: pulumi-kubernetes's awaits are slow (its Service
await sleeps ten seconds after every endpoints change) and blind (a crash-looping pod is waited
on until the timeout); the target waits for the rollout itself (`rollout.py`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.kubernetes import artifact_pod, names
from engine.kubernetes.builds import PodArtifact
from engine.kubernetes.config import ClusterConfig
from engine.kubernetes.function_secrets import secret_env, secrets_fingerprint
from engine.spec import FunctionSpec
from runtimes.contract import worker_env
from runtimes.registry import driver

Manifest = dict[str, Any]

CPU_MILLI_PER_MB = 1000 / 1769
"""Lambda's rule: CPU grows with memory, one vCPU at 1,769 MB."""
MIN_CPU_MILLI = 50
CODE_VOLUME = "code"
TMP_VOLUME = "tmp"
RUN_AS = 65532
ALB = "alb.ingress.kubernetes.io/"
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
CONTAINER = "function"
"""The function's container in every pod (logs and statuses are read by this name)."""
TERMINATION_MARGIN_S = 5


@dataclass(frozen=True)
class Artifact:
    """The code file as the pods see it, and where the S3 variant keeps it."""

    filename: str
    sha256: str
    object_key: str

    @classmethod
    def of(cls, spec: FunctionSpec) -> Artifact:
        return cls(names.code_filename(spec), spec.code_sha256, names.code_object_key(spec))


def metadata(
    spec: FunctionSpec, cfg: ClusterConfig, annotations: Manifest | None = None
) -> Manifest:
    meta: Manifest = {
        "name": names.object_name(spec.key),
        "namespace": cfg.namespace,
        "labels": names.labels(spec.key),
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def code_configmap(spec: FunctionSpec, cfg: ClusterConfig, art: Artifact) -> Manifest:
    annotations = {names.CODE_HASH_ANNOTATION: art.sha256}
    return {"metadata": metadata(spec, cfg, annotations), "data": {art.filename: spec.code}}


def function_secret(spec: FunctionSpec, cfg: ClusterConfig) -> Manifest:
    """The function's Secret without its values: the program adds them as a Pulumi secret
    (`stringData`), so they reach the cluster, never Pulumi's state, in plain text."""
    return {"metadata": metadata(spec, cfg), "type": "Opaque"}


def serves_through_ingress(spec: FunctionSpec) -> bool:
    """A public function has its own Ingress rule; a token-protected one has none, so the
    shared load balancer sends `/endpoint/<key>` to the control plane (its catch-all rule),
    which checks the token before it proxies."""
    return spec.config.auth != "token"


def service(spec: FunctionSpec, cfg: ClusterConfig) -> Manifest:
    port = {"name": "http", "port": names.SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
    return {
        "metadata": metadata(spec, cfg, SKIP_AWAIT),
        "spec": {
            "type": "NodePort",
            "selector": names.selector_labels(spec.key),
            "ports": [port],
        },
    }


def ingress(spec: FunctionSpec, cfg: ClusterConfig) -> Manifest:
    backend = {
        "service": {"name": names.object_name(spec.key), "port": {"number": names.SERVICE_PORT}}
    }
    path = {"path": names.endpoint_path(spec.key), "pathType": "Prefix", "backend": backend}
    return {
        "metadata": metadata(spec, cfg, ingress_annotations(cfg)),
        "spec": {"ingressClassName": cfg.ingress_class, "rules": [{"http": {"paths": [path]}}]},
    }


def ingress_annotations(cfg: ClusterConfig) -> dict[str, str]:
    annotations: dict[str, str] = dict(SKIP_AWAIT)
    if cfg.is_alb:
        annotations |= {
            ALB + "group.name": cfg.ingress_group,
            ALB + "target-type": "instance",
            ALB + "scheme": cfg.alb_scheme,
            ALB + "healthcheck-path": names.HEALTH_PATH,
        }
    return annotations


def deployment(
    spec: FunctionSpec, cfg: ClusterConfig, art: Artifact, built: PodArtifact | None = None
) -> Manifest:
    """`built`: the pods fetch that artifact (ADR 0048) instead of mounting the code."""
    template_annotations = {names.CODE_HASH_ANNOTATION: art.sha256}
    if spec.config.secrets:
        template_annotations[names.SECRETS_ANNOTATION] = secrets_fingerprint(spec)
    pod = pod_spec(spec, cfg, art)
    if built is not None:
        template_annotations |= artifact_pod.template_annotations(built)
        pod = artifact_pod.with_artifact(spec, cfg, built, pod, container_security())
    return {
        "metadata": metadata(spec, cfg, SKIP_AWAIT),
        "spec": {
            "replicas": cfg.replicas,
            "selector": {"matchLabels": names.selector_labels(spec.key)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": names.labels(spec.key), "annotations": template_annotations},
                "spec": pod,
            },
        },
    }


def pod_spec(spec: FunctionSpec, cfg: ClusterConfig, art: Artifact) -> Manifest:
    pod: Manifest = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": termination_grace_s(spec, cfg),
        "containers": [function_container(spec, cfg)],
        "volumes": volumes(spec, cfg),
    }
    if cfg.code_store == "s3":
        pod["initContainers"] = [fetch_container(cfg, art)]
    if cfg.service_account:
        pod["serviceAccountName"] = cfg.service_account
    if cfg.node_selector:
        pod["nodeSelector"] = dict(cfg.node_selector)
    if cfg.tolerations:
        pod["tolerations"] = [dict(t) for t in cfg.tolerations]
    return pod


def termination_grace_s(spec: FunctionSpec, cfg: ClusterConfig) -> int:
    """The preStop pause, then a request that started just before it may run to its timeout."""
    return cfg.drain_s + -(-spec.limits.timeout_ms // 1000) + TERMINATION_MARGIN_S


def volumes(spec: FunctionSpec, cfg: ClusterConfig) -> list[Manifest]:
    tmp = {"name": TMP_VOLUME, "emptyDir": {}}
    if cfg.code_store == "s3":
        return [{"name": CODE_VOLUME, "emptyDir": {}}, tmp]
    source = {"name": names.object_name(spec.key), "defaultMode": 0o444}
    return [{"name": CODE_VOLUME, "configMap": source}, tmp]


def container_security() -> Manifest:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def function_container(spec: FunctionSpec, cfg: ClusterConfig) -> Manifest:
    """The runtime's image and run command, exactly as the function's catalog entry had them
    when its revision was written (so a catalog change rolls the pods on the next update)."""
    container: Manifest = {
        "name": CONTAINER,
        "image": spec.image,
        "ports": [{"name": "http", "containerPort": names.CONTAINER_PORT, "protocol": "TCP"}],
        "env": container_env(spec, cfg),
        "resources": resources(spec),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": CODE_VOLUME, "mountPath": names.CODE_DIR, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": names.TMP_DIR},
        ],
        # A crash's last output lands in the container's status, so a failed start can say why.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        **probes(),
    }
    if cfg.drain_s:
        container["lifecycle"] = lifecycle(cfg)
    if spec.run_command:
        container["command"] = shlex.split(spec.run_command)
    return container


def probes() -> Manifest:
    """Readiness gates traffic: a pod gets requests once its wrapper's health answers 200 (the
    handler loaded), and leaves the endpoints within 3 s of not answering. Start and liveness
    only ask that the port accepts (wrappers bind it before loading; a Go function compiles
    first), so a handler that fails to load keeps serving its error (`rollout.py` reports it)."""
    port = {"tcpSocket": {"port": "http"}, "timeoutSeconds": 2}
    health = {"httpGet": {"path": names.HEALTH_PATH, "port": "http"}, "timeoutSeconds": 2}
    return {
        "startupProbe": {**port, "periodSeconds": 1, "failureThreshold": 120},
        "readinessProbe": {**health, "periodSeconds": 1, "failureThreshold": 3},
        "livenessProbe": {**port, "periodSeconds": 10, "failureThreshold": 3},
    }


def lifecycle(cfg: ClusterConfig) -> Manifest:
    """A replaced pod keeps serving for `drain_s` before its SIGTERM (the kubelet's own sleep),
    while kube-proxy, the ingress and the proxy learn it left: a rollout drops no request."""
    return {"preStop": {"sleep": {"seconds": cfg.drain_s}}}


def fetch_container(cfg: ClusterConfig, art: Artifact) -> Manifest:
    """Init container: copies the code object from S3 into the code volume."""
    command = ["aws", "s3", "cp", f"s3://{cfg.bucket}/{art.object_key}"]
    command.append(f"{names.CODE_DIR}/{art.filename}")
    if cfg.s3_endpoint_url:
        command += ["--endpoint-url", cfg.s3_endpoint_url]
    return {
        "name": "fetch-code",
        "image": cfg.fetch_image,
        "command": command,
        "env": [
            {"name": "AWS_REGION", "value": cfg.s3_region},
            {"name": "HOME", "value": names.TMP_DIR},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": CODE_VOLUME, "mountPath": names.CODE_DIR},
            {"name": TMP_VOLUME, "mountPath": names.TMP_DIR},
        ],
    }


def container_env(spec: FunctionSpec, cfg: ClusterConfig) -> list[Manifest]:
    """The wrapper contract over the spec's own variables (which cannot override it), then
    its secrets by reference (`secret_env`). No bytecode cache prefix: the images ship their
    wrappers precompiled, which a prefix would make Python ignore (recompiling Flask at
    every cold start)."""
    runtime, worker = driver(spec.runtime), driver(artifact_pod.worker_runtime(spec))
    env = worker_env(
        port=names.CONTAINER_PORT,
        code_dir=Path(names.CODE_DIR),
        handler=spec.handler,
        function_name=spec.name,
        function_key=spec.key,
        memory_mb=spec.limits.memory_mb,
        timeout_ms=spec.limits.timeout_ms,
        host="0.0.0.0",
        path_prefix=names.endpoint_path(spec.key),
        convention=spec.config.convention,
        event_format=spec.config.event_format,
        routes=spec.config.routes.items,
        user_env={"HOME": names.TMP_DIR, **spec.env.as_dict()},
        region=cfg.aws_region,
        execution_env=runtime.execution_env(spec.runtime_version),
        runtime_dir=Path(worker.image_runtime_dir) if worker.image_runtime_dir else None,
        bootstrap=artifact_pod.bootstrap_path(spec),
    )
    secret = secret_env(spec)
    hidden = {entry["name"] for entry in secret}  # a secret wins over a plain value, as locally
    plain = [{"name": name, "value": value} for name, value in env.items() if name not in hidden]
    return plain + secret


def resources(spec: FunctionSpec) -> Manifest:
    memory = f"{spec.limits.memory_mb}Mi"
    cpu = max(MIN_CPU_MILLI, round(spec.limits.memory_mb * CPU_MILLI_PER_MB))
    return {"requests": {"cpu": f"{cpu}m", "memory": memory}, "limits": {"memory": memory}}
