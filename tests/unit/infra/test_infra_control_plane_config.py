"""What `deployControlPlane: true` refuses, before anything is created: a missing secret, an
image by tag, and any way of exposing the control plane short of CIDRs, hosts and a
certificate. `pulumi preview` runs the same program, so it refuses the same way."""

from __future__ import annotations

import base64
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.config import PROJECT, ConfigError, StackConfig
from infra.control_plane_config import check_admin_token, check_secret_key
from infra.pulumi_config import load_config
from tests.fixtures.infra_stack import CERTIFICATE, CONTROL_PLANE_IMAGE, StackMocks

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "lct_" + "x" * 43
KEY = base64.b64encode(b"k" * 32).decode()
LOCK = (
    '{"registry": "r", "images": {"control-plane:0.1.0": "r/lambdaclone/control-plane@sha256:'
    + ("a" * 64)
    + '"}}'
)
COMPLETE: dict[str, Any] = {
    "deploy_control_plane": True,
    "control_plane_image": CONTROL_PLANE_IMAGE,
    "pulumi_passphrase": "a-passphrase",
    "admin_token": TOKEN,
    "secret_key": KEY,
}
PUBLIC: dict[str, Any] = {
    **COMPLETE,
    "control_plane_public": True,
    "control_plane_allowed_cidrs": ("203.0.113.0/24",),
    "control_plane_hosts": ("lambda.example.com",),
    "control_plane_certificate_arn": CERTIFICATE,
}


def _config(**values: Any) -> StackConfig:
    return StackConfig(mongo_password="x" * 20, **values)


def _without(values: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != key}


def test_a_complete_closed_and_a_complete_public_config_are_accepted() -> None:
    assert _config(**COMPLETE).control_plane_reference == CONTROL_PLANE_IMAGE
    assert _config(**PUBLIC).control_plane_public is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (_without(COMPLETE, "pulumi_passphrase"), "pulumi config set --secret pulumiPassphrase"),
        (_without(COMPLETE, "admin_token"), "pulumi config set --secret adminToken"),
        (_without(COMPLETE, "secret_key"), r"pulumi config set --secret secretKey .*openssl rand"),
        (_without(COMPLETE, "control_plane_image"), "imagesLock names no control-plane image"),
        ({**COMPLETE, "control_plane_image": "repo/control-plane:1.0"}, "names a mutable tag"),
        ({**COMPLETE, "control_plane_image": "repo/control-plane@sha256:abc"}, "mutable tag"),
        ({**COMPLETE, "control_plane_replicas": 2}, r"controlPlaneReplicas must be 1 .*lease"),
        ({**COMPLETE, "control_plane_replicas": 0}, "controlPlaneReplicas must be 1"),
        (_without(PUBLIC, "control_plane_certificate_arn"), "only exposed over HTTPS"),
        (_without(PUBLIC, "control_plane_allowed_cidrs"), "controlPlaneAllowedCidrs is empty"),
        (_without(PUBLIC, "control_plane_hosts"), "controlPlaneHosts is empty"),
        ({**PUBLIC, "control_plane_public_url": "http://lambda.example.com"}, "https://"),
        ({**COMPLETE, "control_plane_allowed_cidrs": ("10.0.0.0/33",)}, "not a CIDR"),
        ({**COMPLETE, "control_plane_hosts": ("*",)}, "not a host name"),
        ({**COMPLETE, "control_plane_hosts": ("lambda.example.com:443",)}, "no port"),
        ({**COMPLETE, "control_plane_certificate_arn": "arn:aws:iam::1:role/x"}, "ACM certificate"),
        ({**COMPLETE, "control_plane_cors_origins": ("console.example.com",)}, "not an origin"),
        ({**COMPLETE, "admin_token": "hunter2"}, "adminToken must be"),
        ({**COMPLETE, "secret_key": "c2hvcnQ="}, "secretKey must be 32 bytes"),
    ],
)
def test_an_incomplete_or_unsafe_control_plane_is_refused(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**values)


def test_the_image_may_come_from_the_images_lock_by_digest() -> None:
    config = _config(**_without(COMPLETE, "control_plane_image"), images_lock=LOCK)
    assert config.control_plane_reference == "r/lambdaclone/control-plane@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "token", ["lct_short", "x" * 47, "lct_" + "x" * 42 + "!", "lct_" + "x" * 44, ""]
)
def test_an_admin_token_of_the_wrong_shape_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="adminToken must be"):
        check_admin_token(token)


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"k" * 16).decode(), ""])
def test_a_secret_key_that_is_not_32_bytes_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="secretKey"):
        check_secret_key(key)


def test_keys_from_openssl_and_from_python_both_work() -> None:
    assert check_secret_key(KEY + "\n") == KEY
    urlsafe = base64.urlsafe_b64encode(bytes(range(224, 256))).decode().rstrip("=")
    assert check_secret_key(urlsafe) == urlsafe
    assert check_admin_token(TOKEN) == TOKEN


@pytest.fixture
def stack_config() -> Iterator[dict[str, str]]:
    values: dict[str, str] = {}
    yield values
    pulumi.runtime.set_all_config({}, [])


def _set(values: dict[str, str], secrets: tuple[str, ...], **config: str) -> None:
    values.update({f"{PROJECT}:{key}": value for key, value in config.items()})
    pulumi.runtime.set_all_config(values, [f"{PROJECT}:{key}" for key in secrets])


def test_exposure_and_secrets_are_read_from_pulumi_config(stack_config: dict[str, str]) -> None:
    _set(
        stack_config,
        ("mongoPassword", "pulumiPassphrase", "adminToken", "secretKey"),
        mongoPassword="0123456789abcdef0123",
        deployControlPlane="true",
        controlPlaneImage=CONTROL_PLANE_IMAGE,
        pulumiPassphrase="a-passphrase",
        adminToken=TOKEN,
        secretKey=KEY,
        controlPlanePublic="true",
        controlPlaneAllowedCidrs='["203.0.113.0/24"]',
        controlPlaneHosts='["lambda.example.com"]',
        controlPlaneCertificateArn=CERTIFICATE,
        controlPlaneCorsOrigins='["https://console.example.com"]',
    )
    config = load_config()
    assert config.control_plane_public is True
    assert config.control_plane_allowed_cidrs == ("203.0.113.0/24",)
    assert config.control_plane_hosts == ("lambda.example.com",)
    assert config.control_plane_certificate_arn == CERTIFICATE
    assert config.control_plane_cors_origins == ("https://console.example.com",)
    assert isinstance(config.admin_token, pulumi.Output)
    assert isinstance(config.secret_key, pulumi.Output)


def test_preview_refuses_to_expose_the_control_plane_without_a_certificate(
    stack_config: dict[str, str],
) -> None:
    """The program as the language host runs it, in preview: it fails with the message."""
    _set(
        stack_config,
        ("mongoPassword", "pulumiPassphrase", "adminToken", "secretKey"),
        mongoPassword="0123456789abcdef0123",
        deployControlPlane="true",
        controlPlaneImage=CONTROL_PLANE_IMAGE,
        pulumiPassphrase="a-passphrase",
        adminToken=TOKEN,
        secretKey=KEY,
        controlPlanePublic="true",
        controlPlaneAllowedCidrs='["0.0.0.0/0"]',
        controlPlaneHosts='["lambda.example.com"]',
    )
    mocks = StackMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=True)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # untyped in the SDK
    def program() -> None:
        runpy.run_path(str(ROOT / "infra"), run_name="__main__")

    with pytest.raises(ConfigError, match="only exposed over HTTPS"):
        program()
    assert mocks.resources == [], "nothing is created"


def test_preview_refuses_an_admin_token_of_the_wrong_shape(stack_config: dict[str, str]) -> None:
    """Secrets are checked once their value is known, which a preview already does."""
    _set(
        stack_config,
        ("mongoPassword", "pulumiPassphrase", "adminToken", "secretKey"),
        mongoPassword="0123456789abcdef0123",
        deployControlPlane="true",
        controlPlaneImage=CONTROL_PLANE_IMAGE,
        pulumiPassphrase="a-passphrase",
        adminToken="hunter2",
        secretKey=KEY,
    )
    pulumi.runtime.set_mocks(StackMocks(), project=PROJECT, stack="dev", preview=True)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # untyped in the SDK
    def program() -> None:
        runpy.run_path(str(ROOT / "infra"), run_name="__main__")

    with pytest.raises(ConfigError, match="adminToken must be"):
        program()
