"""The image registry: one ECR repository per image `make images` builds (the three runtime
images and the control plane), under the `lambdaclone/` prefix the builder pushes to.

Tags are immutable: once pushed, a tag names the same bytes for good, so a tag in a scan report,
an audit or an operator's shell means what it meant at push time, and nobody can re-point a tag
the platform has used at other bytes. Pods name the images by digest anyway (the images lock
`make images push` writes, see docs/deploy-aws.md), so each push of a new build needs a new
tag — the pushed tag carries the build's digest (ADR 0044). Nothing tagged is ever expired, and
untagged images only beyond the newest `imageRetentionCount`: an older function revision may
still run one. Scanning on push is on; the node role already has
`AmazonEC2ContainerRegistryReadOnly`, which is all the kubelet needs to pull.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import IMAGE_PREFIX, IMAGE_REPOSITORIES, StackConfig


@dataclass(frozen=True)
class ImageRegistry:
    host: pulumi.Output[str]
    """`<account>.dkr.ecr.<region>.amazonaws.com`: what `make images push REGISTRY=` takes."""
    repositories: pulumi.Output[dict[str, str]]
    """Image name (`runtime-python`) → repository URL."""


def lifecycle_policy(keep_untagged: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the newest {keep_untagged} untagged images",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_untagged,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def build_registry(config: StackConfig, aws_opts: pulumi.ResourceOptions) -> ImageRegistry:
    urls: dict[str, pulumi.Output[str]] = {}
    for image in IMAGE_REPOSITORIES:
        name = f"{IMAGE_PREFIX}/{image}"
        repository = aws.ecr.Repository(
            f"{config.cluster_name}-{image}",
            name=name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=config.registry_force_delete,
            opts=aws_opts,
        )
        aws.ecr.LifecyclePolicy(
            f"{config.cluster_name}-{image}",
            repository=repository.name,
            policy=lifecycle_policy(config.image_retention_count),
            opts=pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(parent=repository)),
        )
        urls[image] = repository.repository_url
    first = urls[IMAGE_REPOSITORIES[0]]
    return ImageRegistry(
        host=first.apply(lambda url: url.split("/", 1)[0]),
        repositories=pulumi.Output.all(**urls).apply(dict),
    )
