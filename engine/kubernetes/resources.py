"""Pure builders of a function's Kubernetes objects, as plain manifests (camelCase dicts).

The Pulumi program (`program.py`) hands these to pulumi-kubernetes unchanged, and tests check
them without Pulumi. Nothing here does I/O.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.kubernetes import names
from engine.kubernetes.config import ClusterConfig
from engine.spec import FunctionSpec
from runtimes.contract import worker_env

Manifest = dict[str, Any]

CPU_MILLI_PER_MB = 1000 / 1769
"""Lambda's rule: CPU grows with memory, one vCPU at 1,769 MB."""
MIN_CPU_MILLI = 50
CODE_VOLUME = "code"
TMP_VOLUME = "tmp"
RUN_AS = 65532
ALB = "alb.ingress.kubernetes.io/"


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


def service(spec: FunctionSpec, cfg: ClusterConfig) -> Manifest:
    port = {"name": "http", "port": names.SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
    return {
        "metadata": metadata(spec, cfg),
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
    annotations: dict[str, str] = {}
    if cfg.is_alb:
        annotations |= {
            ALB + "group.name": cfg.ingress_group,
            ALB + "target-type": "instance",
            ALB + "scheme": cfg.alb_scheme,
            ALB + "healthcheck-path": names.HEALTH_PATH,
        }
    if cfg.skip_await_ingress:
        annotations["pulumi.com/skipAwait"] = "true"
    return annotations


def deployment(spec: FunctionSpec, cfg: ClusterConfig, art: Artifact) -> Manifest:
    template_annotations = {names.CODE_HASH_ANNOTATION: art.sha256}
    return {
        "metadata": metadata(spec, cfg),
        "spec": {
            "replicas": cfg.replicas,
            "selector": {"matchLabels": names.selector_labels(spec.key)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": names.labels(spec.key), "annotations": template_annotations},
                "spec": pod_spec(spec, cfg, art),
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
        "terminationGracePeriodSeconds": spec.limits.timeout_ms // 1000 + 5,
        "containers": [function_container(spec, cfg)],
        "volumes": volumes(spec, cfg),
    }
    if cfg.code_store == "s3":
        pod["initContainers"] = [fetch_container(cfg, art)]
    if cfg.service_account:
        pod["serviceAccountName"] = cfg.service_account
    return pod


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
    probe = {"httpGet": {"path": names.HEALTH_PATH, "port": "http"}, "timeoutSeconds": 2}
    container: Manifest = {
        "name": "function",
        "image": spec.image,
        "ports": [{"name": "http", "containerPort": names.CONTAINER_PORT, "protocol": "TCP"}],
        "env": container_env(spec),
        "resources": resources(spec),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": CODE_VOLUME, "mountPath": names.CODE_DIR, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": names.TMP_DIR},
        ],
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 6},
    }
    if spec.run_command:
        container["command"] = shlex.split(spec.run_command)
    return container


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


def container_env(spec: FunctionSpec) -> list[Manifest]:
    """The wrapper contract over the spec's own variables (which cannot override it). No
    bytecode cache prefix: the images ship their wrappers precompiled, which a prefix would
    make Python ignore (recompiling Flask at every cold start)."""
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
        user_env={"HOME": names.TMP_DIR, **spec.env.as_dict()},
    )
    return [{"name": name, "value": value} for name, value in env.items()]


def resources(spec: FunctionSpec) -> Manifest:
    memory = f"{spec.limits.memory_mb}Mi"
    cpu = max(MIN_CPU_MILLI, round(spec.limits.memory_mb * CPU_MILLI_PER_MB))
    return {"requests": {"cpu": f"{cpu}m", "memory": memory}, "limits": {"memory": memory}}
