"""The cluster configuration, from the settings or the base stack's outputs.

With `settings.base_stack` (`org/project/stack`, in the same backend as the function stacks),
its outputs `kubeconfig`, `functionsNamespace`, `codeBucket`, `ingressClass`, `ingressGroup` and
`region` override the corresponding settings. Two exceptions keep the control plane on least
privilege: an explicit `settings.kubeconfig` wins, and inside a pod (KUBERNETES_SERVICE_HOST set)
the pod's own service account is used instead of the base stack's admin kubeconfig.
"""

from __future__ import annotations

import os
from dataclasses import replace

from pulumi import automation as auto

from engine.kubernetes.config import ClusterConfig, from_settings, with_base_outputs
from engine.kubernetes.stacks import StackService, pulumi_failure


def cluster_config(service: StackService) -> ClusterConfig:
    settings = service.settings
    cfg = from_settings(settings)
    if not settings.base_stack:
        return cfg
    merged = with_base_outputs(cfg, base_outputs(service, settings.base_stack))
    if settings.kubeconfig is not None or in_cluster():
        merged = replace(merged, kubeconfig=cfg.kubeconfig)
    return merged


def base_outputs(service: StackService, stack: str) -> dict[str, object]:
    try:
        outputs = service.admin_workspace().stack_outputs(stack)
    except auto.CommandError as exc:
        raise pulumi_failure(f"stack output --stack {stack}", exc) from exc
    return {name: output.value for name, output in outputs.items()}


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
