"""The pulumi-aws classes the program uses, imported once with the package's import-time
deprecation warnings (about S3 resources we do not use) silenced."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi_aws.config
    from pulumi_aws import Provider as AwsProvider
    from pulumi_aws.s3 import BucketObjectv2

    vars(pulumi_aws.config)  # executes the lazily loaded module now, not in a program thread

__all__ = ["AwsProvider", "BucketObjectv2", "pulumi_aws"]
