"""The config schema: defaults, required secrets, validation, and the pure helpers."""

from __future__ import annotations

import ipaddress
import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml  # type: ignore[import-untyped]

from infra import outputs
from infra.config import PROJECT, ConfigError, StackConfig
from infra.irsa import partition, trust_policy_document
from infra.network import plan_subnets
from infra.pulumi_config import load_config
from tests.fixtures.infra_stack import StackMocks

# pulumi-aws warns about its own deprecated S3 aliases when the module loads; we use none of them.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")


@pytest.fixture
def stack_config() -> Iterator[dict[str, str]]:
    """Pulumi config for `load_config`; cleared afterwards so tests stay independent."""
    values: dict[str, str] = {}
    pulumi.runtime.set_all_config(values, [])
    yield values
    pulumi.runtime.set_all_config({}, [])


def _set(values: dict[str, str], **config: str) -> None:
    values.update({f"{PROJECT}:{key}": value for key, value in config.items()})
    pulumi.runtime.set_all_config(values, [f"{PROJECT}:mongoPassword"])


def test_missing_mongo_password_is_a_clear_error(stack_config: dict[str, str]) -> None:
    _set(stack_config, clusterName="demo")
    with pytest.raises(ConfigError, match=r"pulumi config set --secret mongoPassword"):
        load_config()


def test_defaults(stack_config: dict[str, str]) -> None:
    _set(stack_config, mongoPassword="0123456789abcdef0123")
    config = load_config()
    assert config.functions_namespace == "lambdaclone-functions"
    assert config.system_namespace == "lambdaclone-system"
    assert config.ingress_class == "alb"
    assert config.ingress_group == "lambdaclone"
    assert config.mongo_image == "mongo:7"
    assert config.deploy_control_plane is False
    assert config.node_min_size <= config.node_desired_size <= config.node_max_size
    assert isinstance(config.mongo_password, pulumi.Output)


def test_values_and_lists_are_read(stack_config: dict[str, str]) -> None:
    _set(
        stack_config,
        mongoPassword="0123456789abcdef0123",
        region="eu-central-1",
        clusterName="prod",
        nodeInstanceTypes='["m6i.large", "m6a.large"]',
        nodeMaxSize="10",
        availabilityZones='["eu-central-1a", "eu-central-1b"]',
        singleNatGateway="false",
        mongoStorageSize="50Gi",
    )
    config = load_config()
    assert config.region == "eu-central-1"
    assert config.cluster_name == "prod"
    assert config.node_instance_types == ("m6i.large", "m6a.large")
    assert config.node_max_size == 10
    assert config.availability_zones == ("eu-central-1a", "eu-central-1b")
    assert config.single_nat_gateway is False
    assert config.mongo_storage_size == "50Gi"


def test_function_egress_defaults_to_the_internet_and_can_be_closed(
    stack_config: dict[str, str],
) -> None:
    _set(stack_config, mongoPassword="0123456789abcdef0123")
    assert load_config().function_egress_cidrs == ("0.0.0.0/0",)
    _set(stack_config, functionEgressCidrs="[]")
    assert load_config().function_egress_cidrs == ()
    _set(stack_config, functionEgressCidrs='["203.0.113.0/24"]')
    assert load_config().function_egress_cidrs == ("203.0.113.0/24",)


def test_region_falls_back_to_the_aws_provider_config(stack_config: dict[str, str]) -> None:
    _set(stack_config, mongoPassword="0123456789abcdef0123")
    stack_config["aws:region"] = "ap-northeast-2"
    pulumi.runtime.set_all_config(stack_config, [])
    assert load_config().region == "ap-northeast-2"


def test_list_values_must_be_lists_of_strings(stack_config: dict[str, str]) -> None:
    _set(stack_config, mongoPassword="0123456789abcdef0123", nodeInstanceTypes='"t3.large"')
    with pytest.raises(ConfigError, match="nodeInstanceTypes"):
        load_config()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"node_min_size": 3, "node_desired_size": 2}, "nodeMinSize"),
        ({"functions_namespace": "lambdaclone-system"}, "must differ"),
        ({"functions_namespace": "Bad_Name"}, "functionsNamespace"),
        ({"vpc_cidr": "10.0.0.0/24"}, "vpcCidr"),
        ({"vpc_cidr": "not-a-cidr"}, "vpcCidr"),
        ({"az_count": 1}, "availability zones"),
        ({"bucket_prefix": "Has_Upper"}, "bucketPrefix"),
        ({"mongo_storage_size": "20GB"}, "mongoStorageSize"),
        ({"kubernetes_version": "v1.33"}, "kubernetesVersion"),
        ({"images_lock": "not json"}, "imagesLock"),
        ({"images_lock": '{"images": {"runtime-python:3.12": "r/p:3.12"}}'}, "by digest"),
        ({"image_retention_count": 0}, "imageRetentionCount"),
    ],
)
def test_invalid_config_is_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StackConfig(mongo_password="x" * 20, **overrides)


def test_config_repr_hides_secrets() -> None:
    config = StackConfig(
        mongo_password="super-secret-password",
        pulumi_passphrase="also-secret",
        admin_token="lct_" + "t" * 43,
        secret_key="k" * 43,
    )
    for secret in ("super-secret-password", "also-secret", "t" * 43, "k" * 43):
        assert secret not in repr(config)


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/18", "10.20.0.0/20"])
def test_subnet_plan_is_disjoint_inside_the_vpc_and_stable(cidr: str) -> None:
    zones = ("a", "b", "c", "d", "e", "f")
    plan = plan_subnets(cidr, zones)
    vpc = ipaddress.IPv4Network(cidr)
    blocks = [ipaddress.IPv4Network(p.public_cidr) for p in plan]
    blocks += [ipaddress.IPv4Network(p.private_cidr) for p in plan]
    assert all(block.subnet_of(vpc) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    assert plan_subnets(cidr, zones[:2]) == plan[:2], "adding a zone never renumbers"
    assert all(
        ipaddress.IPv4Network(p.private_cidr).num_addresses
        > ipaddress.IPv4Network(p.public_cidr).num_addresses
        for p in plan
    ), "pods take their addresses from the private subnets"


def test_trust_policy_document_shape() -> None:
    document = trust_policy_document(
        "arn:aws:iam::1:oidc-provider/oidc.example/id/X", "oidc.example/id/X", "ns", "sa"
    )
    (statement,) = document["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        "oidc.example/id/X:sub": "system:serviceaccount:ns:sa",
        "oidc.example/id/X:aud": "sts.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("region", "expected"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_partition(region: str, expected: str) -> None:
    assert partition(region) == expected


def test_export_marks_sensitive_outputs_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """`export` must hide kubeconfig and mongoUri even if a module forgot to mark them."""
    exported: dict[str, pulumi.Output[Any]] = {}
    secret: set[str] = set()
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    pulumi.runtime.set_mocks(StackMocks(), project=PROJECT, stack="test", preview=False)

    async def collect() -> None:
        for name, value in exported.items():
            if await value.is_secret():
                secret.add(name)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # untyped in the SDK
    def program() -> pulumi.Output[None]:
        outputs.export({name: pulumi.Output.from_input(name) for name in outputs.OUTPUT_NAMES})
        return pulumi.Output.from_input(collect())

    program()
    assert set(exported) == set(outputs.OUTPUT_NAMES)
    assert secret == {"kubeconfig", "mongoUri"}


ROOT = Path(__file__).resolve().parents[3]


def _example_config() -> dict[str, str]:
    """Pulumi.dev.yaml as the CLI hands it to the program (values as strings, lists as JSON)."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config: dict[str, str] = {}
    for key, value in document["config"].items():
        if isinstance(value, bool):
            config[key] = str(value).lower()
        elif isinstance(value, list | dict):
            config[key] = json.dumps(value)
        else:
            config[key] = str(value)
    return config


def test_project_file_runs_infra_with_uv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["main"] == "infra/"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "virtualenv": ".venv"},
    }


def test_example_stack_config_is_valid(stack_config: dict[str, str]) -> None:
    example = _example_config()
    assert not any("mongoPassword" in key for key in example), "secrets are set per stack"
    stack_config.update(example)
    _set(stack_config, mongoPassword="0123456789abcdef0123")
    config = load_config()
    assert config.cluster_name == "lambdaclone-dev"
    assert config.region == "us-east-1"


def test_pulumi_entrypoint_builds_and_exports_the_stack(
    stack_config: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run `infra/` the way the Python language host does (runpy on the directory)."""
    exported: dict[str, pulumi.Output[Any]] = {}
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    stack_config.update(_example_config())
    _set(stack_config, mongoPassword="0123456789abcdef0123")
    mocks = StackMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # untyped in the SDK
    def program() -> None:
        runpy.run_path(str(ROOT / "infra"), run_name="__main__")

    program()
    assert set(outputs.OUTPUT_NAMES) <= set(exported)
    assert any(r.type == "aws:eks/cluster:Cluster" for r in mocks.resources)
