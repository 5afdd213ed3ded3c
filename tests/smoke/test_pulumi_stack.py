"""The provisioning boundary is real: the pulumi CLI and pulumi-resource-kubernetes, driven by
the Automation API with an inline program, against the test cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi import automation as auto

from engine.tools import tool_path
from tests.fixtures.kube import KubeCluster

pytestmark = pytest.mark.cluster

NAME = "smoke-web"


def _program(kubeconfig: Path, message: str) -> Callable[[], None]:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig=kubeconfig.read_text(), namespace="default")
        opts = pulumi.ResourceOptions(provider=provider)
        labels = {"app": NAME}
        container = k8s.core.v1.ContainerArgs(
            name="web",
            image="example.invalid/web:1",
            env=[k8s.core.v1.EnvVarArgs(name="MESSAGE", value=message)],
            ports=[k8s.core.v1.ContainerPortArgs(container_port=8080)],
        )
        k8s.apps.v1.Deployment(
            NAME,
            metadata={"name": NAME},
            spec=k8s.apps.v1.DeploymentSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                replicas=1,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(containers=[container]),
                ),
            ),
            opts=opts,
        )
        service = k8s.core.v1.Service(
            NAME,
            metadata={"name": NAME},
            spec={
                "type": "NodePort",
                "selector": labels,
                "ports": [{"port": 80, "target_port": 8080}],
            },
            opts=opts,
        )
        k8s.networking.v1.Ingress(
            NAME,
            metadata={
                "name": NAME,
                "annotations": {"pulumi.com/skipAwait": "true"},
            },
            spec={
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/endpoint/smoke",
                                    "path_type": "Prefix",
                                    "backend": {
                                        "service": {
                                            "name": service.metadata["name"],
                                            "port": {"number": 80},
                                        }
                                    },
                                }
                            ]
                        }
                    }
                ]
            },
            opts=opts,
        )

    return program


def _stack(kube: KubeCluster, env: dict[str, str], work: Path, message: str) -> auto.Stack:
    command = auto.PulumiCommand(root=str(tool_path("pulumi").parent.parent))
    return auto.create_or_select_stack(
        stack_name="smoke",
        project_name="lambdaclone-smoke",
        program=_program(kube.kubeconfig, message),
        opts=auto.LocalWorkspaceOptions(work_dir=str(work), env_vars=env, pulumi_command=command),
    )


def _get(kube: KubeCluster, kind: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(kube.kubectl("get", kind, NAME, "-o", "json"))
    return found


def test_preview_up_update_destroy(
    kube_cluster: KubeCluster, pulumi_env: dict[str, str], tmp_path: Path
) -> None:
    stack = _stack(kube_cluster, pulumi_env, tmp_path, "hello")

    preview = stack.preview()
    assert preview.change_summary.get(auto.OpType.CREATE) == 5  # stack, provider, 3 objects

    stack.up()
    for kind in ("deployment", "service", "ingress"):
        assert _get(kube_cluster, kind)["metadata"]["name"] == NAME  # type: ignore[index]
    assert _get(kube_cluster, "service")["spec"]["type"] == "NodePort"  # type: ignore[index]

    stack = _stack(kube_cluster, pulumi_env, tmp_path, "changed")
    changed = stack.preview()
    assert changed.change_summary.get(auto.OpType.UPDATE) == 1
    stack.up()
    spec = _get(kube_cluster, "deployment")["spec"]
    env = spec["template"]["spec"]["containers"][0]["env"]  # type: ignore[index]
    assert env == [{"name": "MESSAGE", "value": "changed"}]

    stack.destroy()
    listed = json.loads(
        kube_cluster.kubectl(
            "get",
            "deployments,services,ingresses",
            "--field-selector",
            f"metadata.name={NAME}",
            "-o",
            "json",
        )
    )
    assert listed["items"] == []
    stack.workspace.remove_stack("smoke")
