"""The code bucket: where every function's code artifact lives (`functions/<key>/...`).

It holds user code, so it is private in every way S3 offers: ACLs disabled (bucket owner
enforced), all four public-access blocks on, a policy refusing plain-HTTP requests, SSE-KMS with
an S3 bucket key, and versioning so an overwritten artifact can be recovered. Uses the pulumi-aws
v7 split resources (`aws.s3.Bucket` plus one resource per setting); `BucketV2` and the `*V2`
settings resources are deprecated aliases in v7.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig


@dataclass(frozen=True)
class CodeBucket:
    name: pulumi.Output[str]
    arn: pulumi.Output[str]


def deny_insecure_transport_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def build_bucket(config: StackConfig, aws_opts: pulumi.ResourceOptions) -> CodeBucket:
    name = f"{config.cluster_name}-code"
    bucket = aws.s3.Bucket(
        name,
        bucket_prefix=f"{config.bucket_prefix}-",
        force_destroy=config.bucket_force_destroy,
        opts=aws_opts,
    )
    child = pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(parent=bucket))

    ownership = aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        opts=child,
    )
    aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(deny_insecure_transport_policy),
        opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[public_access, ownership])
        ),
    )
    if config.noncurrent_version_days > 0:
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-old-code-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": config.noncurrent_version_days
                    },
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[versioning])
            ),
        )
    return CodeBucket(name=bucket.bucket, arn=bucket.arn)
