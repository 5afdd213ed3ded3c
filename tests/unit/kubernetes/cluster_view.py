"""Helpers for the Kubernetes target's cluster tests (tests/integration/kubernetes): settings
for a target on the test cluster, a view of the cluster through the `kubernetes` client, and
waiting. Kept in this package so both pytest and mypy import it under one name."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config

from engine.kubernetes import names
from engine.settings import Settings
from engine.spec import FunctionSpec, Limits

PYTHON_CODE = "def handler(event, context):\n    return {'hello': 'world'}\n"


def target_settings(
    data_dir: Path, kubeconfig: Path, namespace: str, pulumi_home: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "target": "kubernetes",
        "data_dir": data_dir,
        "kubeconfig": kubeconfig,
        "namespace": namespace,
        "k8s_code_store": "configmap",
        "ingress_class": "alb",
        "skip_await_ingress": True,
        "pulumi_home": pulumi_home,
        "pulumi_passphrase": "lambdaclone-tests",
        "k8s_await_timeout_s": 180,
        "max_concurrent_operations": 10,
    }
    values.update(overrides)
    return Settings(**values)


def function_spec(key: str, code: str = PYTHON_CODE, **overrides: Any) -> FunctionSpec:
    values: dict[str, Any] = {
        "key": key,
        "name": f"fn-{key}",
        "runtime": "python",
        "version": "3.12",
        "handler": "handler.handler",
        "code": code,
        "image": "lambdaclone/runtime-python:3.12",
        "env": (("STAGE", "test"),),
        "limits": Limits(memory_mb=128, timeout_ms=3000, concurrency=2),
    }
    values.update(overrides)
    return FunctionSpec(**values)


@dataclass
class Cluster:
    """The test cluster as the tests look at it."""

    api: client.ApiClient
    namespace: str

    @classmethod
    def connect(cls, kubeconfig: Path, namespace: str) -> Cluster:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test cluster
        api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
        return cls(api, namespace)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api)

    def create_namespace(self) -> None:
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace))
        self.core.create_namespace(body)

    def delete_namespace(self) -> None:
        self.core.delete_namespace(self.namespace)

    def deployment(self, key: str) -> Any:
        return self.apps.read_namespaced_deployment(names.object_name(key), self.namespace)

    def service(self, key: str) -> Any:
        return self.core.read_namespaced_service(names.object_name(key), self.namespace)

    def ingress(self, key: str) -> Any:
        return self.networking.read_namespaced_ingress(names.object_name(key), self.namespace)

    def configmap(self, key: str) -> Any:
        return self.core.read_namespaced_config_map(names.object_name(key), self.namespace)

    def is_available(self, key: str) -> bool:
        conditions = self.deployment(key).status.conditions or []
        return any(c.type == "Available" and c.status == "True" for c in conditions)

    def replica_sets(self, key: str) -> list[Any]:
        selector = f"{names.KEY_LABEL}={key}"
        items = self.apps.list_namespaced_replica_set(self.namespace, label_selector=selector).items
        return list(items)

    def objects_of(self, key: str) -> list[str]:
        """Every object of the function still in the namespace, as `kind/name`."""
        selector = f"{names.KEY_LABEL}={key}"
        listings: list[tuple[str, Callable[..., Any]]] = [
            ("Deployment", self.apps.list_namespaced_deployment),
            ("ReplicaSet", self.apps.list_namespaced_replica_set),
            ("Pod", self.core.list_namespaced_pod),
            ("Service", self.core.list_namespaced_service),
            ("ConfigMap", self.core.list_namespaced_config_map),
            ("Ingress", self.networking.list_namespaced_ingress),
        ]
        return [
            f"{kind}/{item.metadata.name}"
            for kind, list_fn in listings
            for item in list_fn(self.namespace, label_selector=selector).items
        ]


def wait_for(check: Callable[[], bool], timeout_s: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
