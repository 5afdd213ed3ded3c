"""The code artifacts' boundary is a real S3-protocol endpoint (moto in server mode)."""

from __future__ import annotations

import boto3


def test_put_then_get(s3_endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # moto accepts any credentials
    )
    s3.create_bucket(Bucket="smoke")
    s3.put_object(Bucket="smoke", Key="functions/k/abc.py", Body=b"def handler(): ...\n")

    body = s3.get_object(Bucket="smoke", Key="functions/k/abc.py")["Body"].read()

    assert body == b"def handler(): ...\n"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="smoke")["Contents"]] == [
        "functions/k/abc.py"
    ]
