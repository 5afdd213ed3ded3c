"""Chooses the target backend from settings; imports lazily so the local default never loads
Pulumi and the Kubernetes target never starts local processes."""

from __future__ import annotations

from engine.settings import Settings
from engine.target import Target


def build_target(settings: Settings) -> Target:
    if settings.target == "kubernetes":
        from engine.kubernetes.target import KubernetesTarget  # noqa: PLC0415

        return KubernetesTarget(settings)
    from engine.local.target import LocalTarget  # noqa: PLC0415

    return LocalTarget(settings)
