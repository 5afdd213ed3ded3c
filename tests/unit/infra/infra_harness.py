"""Run the base stack under Pulumi mocks and record every resource it registers.

No CLI and no provider plugin are involved: `pulumi.runtime.set_mocks` replaces the engine, and
`StackMocks` (a recording mock from tests/pulumi_mocks.py) plays the providers, answering each
registration with the inputs plus the few computed attributes the program reads back (ARNs, the
cluster's endpoint and OIDC issuer, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs

from infra.config import PROJECT, StackConfig
from infra.stack import build
from tests.pulumi_mocks import RecordingMocks, Registered, unsecret

ACCOUNT = "123456789012"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER_HOST = ISSUER.removeprefix("https://")
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
ALB_HOSTNAME = "k8s-lambdaclone-0123456789-1234567890.us-east-1.elb.amazonaws.com"
TEST_PASSWORD = "correct-horse-battery-staple"


def _computed(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Attributes a real provider would compute and the program reads back."""
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "name": name}
    if typ == "aws:iam/policy:Policy":
        return {"arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}"}
    if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        url = str(unsecret(inputs["url"])).removeprefix("https://")
        return {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"}
    if typ == "aws:eks/cluster:Cluster":
        return {
            "arn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{inputs['name']}",
            "endpoint": "https://EXAMPLE0123456789.gr7.us-east-1.eks.amazonaws.com",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
            "identities": [{"oidcs": [{"issuer": ISSUER}]}],
        }
    if typ == "aws:s3/bucket:Bucket":
        bucket = f"{inputs['bucketPrefix']}20250101abcdef"
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    if typ == "kubernetes:networking.k8s.io/v1:Ingress":
        return {"status": {"loadBalancer": {"ingress": [{"hostname": ALB_HOSTNAME}]}}}
    if typ == "aws:eks/accessEntry:AccessEntry":
        return {"principalArn": inputs["principalArn"]}
    return {}


class StackMocks(RecordingMocks):
    """Answers with the inputs plus `_computed`, and the availability-zone lookup."""

    def provider_state(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, **_computed(typ, name, inputs)}

    def call_result(self, args: MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ZONES, "zoneIds": [f"use1-az{i}" for i in range(len(ZONES))]}
        return {}


@dataclass
class StackRun:
    """What a run of the program registered, and the stack outputs it returned."""

    resources: list[Registered]
    calls: list[MockCallArgs]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Registered]:
        return [resource for resource in self.resources if resource.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registered:
        matches = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(matches) == 1, f"expected one {typ} {name or ''}, got {len(matches)}"
        return matches[0]

    def types(self) -> Iterator[str]:
        return (resource.type for resource in self.resources)


def test_config(**overrides: Any) -> StackConfig:
    """A valid config; must be called inside the Pulumi test so the secret has an event loop."""
    values: dict[str, Any] = {
        "mongo_password": pulumi.Output.secret(TEST_PASSWORD),
        "availability_zones": (),
        "az_count": 2,
    }
    values.update(overrides)
    return StackConfig(**values)


test_config.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def run_stack(make_config: Callable[[], StackConfig]) -> StackRun:
    """Build the stack under mocks; returns after every registration and output resolved."""
    mocks = StackMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False)
    run = StackRun(resources=mocks.resources, calls=mocks.calls)

    async def resolve(outputs: dict[str, pulumi.Output[Any]]) -> None:
        for name, output in outputs.items():
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # untyped in the SDK
    def program() -> pulumi.Output[None]:
        return pulumi.Output.from_input(resolve(build(make_config())))

    program()
    return run
