"""The stack outputs: the contract between the base stack and the control plane.

The control plane (engine/settings.py, `LAMBDACLONE_BASE_STACK`) and docs/deploy-aws.md read
these names, so they are part of the public interface: add new ones freely, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

OUTPUT_NAMES = (
    "kubeconfig",
    "clusterName",
    "region",
    "functionsNamespace",
    "systemNamespace",
    "codeBucket",
    "codePrefix",
    "ingressClass",
    "ingressGroup",
    "mongoUri",
    "controlPlaneServiceAccount",
    "controlPlaneRoleArn",
    "functionServiceAccount",
    "functionRoleArn",
    "albControllerRoleArn",
    "oidcProviderArn",
    "vpcId",
    "storageClass",
    "imageRegistry",
    "imageRepositories",
)
"""Outputs every stack has (`controlPlaneHostname` and `controlPlaneUrl` are added when the
control plane is deployed)."""

SECRET_OUTPUTS = frozenset({"kubeconfig", "mongoUri"})
"""Outputs that must never be shown in plain text (`pulumi stack output --show-secrets`)."""


def export(outputs: Mapping[str, pulumi.Output[Any]]) -> None:
    """Register the outputs on the stack, making sure the sensitive ones are secrets."""
    for name, value in outputs.items():
        pulumi.export(name, pulumi.Output.secret(value) if name in SECRET_OUTPUTS else value)
