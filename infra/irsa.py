"""IAM roles for Kubernetes service accounts (IRSA), shared by every module that grants AWS access.

One helper builds every trust policy so that all roles follow the same rule: a role trusts
exactly one service account of this cluster — the OIDC provider as the federated principal,
`:sub` pinned to `system:serviceaccount:<namespace>:<name>` and `:aud` to STS — never a
wildcard, never the node role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

STS_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class OidcIdentity:
    """The cluster's OIDC issuer as IAM knows it."""

    provider_arn: pulumi.Output[str]
    issuer_host: pulumi.Output[str]
    """Issuer URL without `https://`, the prefix of the `:sub` and `:aud` condition keys."""


def partition(region: str) -> str:
    """The ARN partition of a region, so AWS-managed policy ARNs are right outside `aws` too."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy_arn(region: str, name: str) -> str:
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def trust_policy_document(
    provider_arn: str, issuer_host: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """The trust policy letting one service account assume a role with its projected token."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer_host}:sub": service_account_subject(namespace, service_account),
                        f"{issuer_host}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def service_account_role(
    name: str,
    oidc: OidcIdentity,
    namespace: str,
    service_account: str,
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """An IAM role that only `namespace/service_account` of this cluster can assume."""
    policy = pulumi.Output.all(oidc.provider_arn, oidc.issuer_host).apply(
        lambda args: json.dumps(
            trust_policy_document(str(args[0]), str(args[1]), namespace, service_account)
        )
    )
    return aws.iam.Role(
        name,
        assume_role_policy=policy,
        description=f"IRSA role of {namespace}/{service_account}",
        opts=opts,
    )


def policy_json(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
