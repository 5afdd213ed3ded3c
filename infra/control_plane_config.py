"""What the in-cluster control plane may be configured with, checked before anything is created.

Safe by default (docs/adr/0044): with `deployControlPlane` the control plane is reachable only
from inside the VPC unless the operator says otherwise, and saying otherwise takes everything an
exposed control plane needs — `controlPlanePublic: true`, the CIDRs allowed in, the host names it
answers for and an ACM certificate (HTTPS only). Its admin token and the key that seals
functions' secrets are required Pulumi secrets, never generated per pod (an emptyDir data
directory would make a new key, and lose every sealed value, at each restart). Its image is
named by digest, so the bytes that run are the bytes that were pushed and scanned.

The secrets are checked inside `apply` (their values are only known there); everything else
raises `ConfigError` while the program is constructed, so `pulumi preview` already refuses.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from infra.errors import ConfigError, require

if TYPE_CHECKING:
    from infra.config import StackConfig

CONTROL_PLANE_IMAGE = "control-plane"
"""The control plane's name in the images lock (`control-plane:<version>`)."""
NAME = "lambdaclone-control-plane"
"""Its Deployment, Service, Ingress and Secrets."""
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "lambdaclone"}
PORT = 8000
"""The pod's port, and its Service's `internal` port. For an egress rule naming pods and a port,
the VPC CNI's policy controller opens the ClusterIP of a Service in front of them only on the
first Service port targeting that port, and EKS asks for the two to be equal: so that port comes
first and is `PORT` too, and function pods reach the Service (and the URL) on it."""
INTERNAL_PORT_NAME = "internal"
TOKEN_PREFIX = "lct_"  # noqa: S105 - the shape of an admin token, not a token
TOKEN_CHARS = 43
SECRET_KEY_BYTES = 32
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
"""Kept allowed: `kubectl port-forward` reaches the pod as 127.0.0.1 / localhost."""

_BY_DIGEST = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$")
_ORIGIN = re.compile(rf"^https?://{_LABEL}(\.{_LABEL})*(:[0-9]{{1,5}})?$")
_TOKEN_BODY = re.compile(r"^[A-Za-z0-9_-]+$")

ADMIN_HINT = (
    "`pulumi config set --secret adminToken "
    "\"lct_$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\"`"
)
SEALING_HINT = '`pulumi config set --secret secretKey "$(openssl rand -base64 32)"`'


def locked_images(lock: str) -> dict[str, str]:
    """The images lock as `<image>:<tag>` → `<registry>/<repo>@sha256:<digest>`."""
    if not lock:
        return {}
    try:
        images = json.loads(lock)["images"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"imagesLock is not an images lock: {exc}") from exc
    if not isinstance(images, dict) or not all(
        isinstance(ref, str) and _BY_DIGEST.match(ref) for ref in images.values()
    ):
        raise ConfigError("imagesLock must map each image to a reference by digest")
    return {str(name): str(ref) for name, ref in images.items()}


def control_plane_reference(image: str, lock: str) -> str:
    """`controlPlaneImage`, else the newest `control-plane` entry of the lock, else ''."""
    if image:
        return image
    locked = locked_images(lock)
    names = sorted(n for n in locked if n.startswith(f"{CONTROL_PLANE_IMAGE}:"))
    return locked[names[-1]] if names else ""


def check_control_plane(config: StackConfig) -> None:
    """Everything `deployControlPlane: true` needs, or a message saying how to give it."""
    _check_image(config)
    for key, secret, hint in (
        ("pulumiPassphrase", config.pulumi_passphrase, "<passphrase>"),
        ("adminToken", config.admin_token, ADMIN_HINT),
        ("secretKey", config.secret_key, SEALING_HINT),
    ):
        if secret is None:
            how = hint if hint.startswith("`") else f"`pulumi config set --secret {key} {hint}`"
            raise ConfigError(f"deployControlPlane is true but the secret {key} is missing: {how}")
    # Given directly (not through `pulumi config`, where `apply` checks them): check them now.
    if isinstance(config.admin_token, str):
        check_admin_token(config.admin_token)
    if isinstance(config.secret_key, str):
        check_secret_key(config.secret_key)
    require(
        config.control_plane_replicas == 1,
        f"controlPlaneReplicas must be 1 (got {config.control_plane_replicas}): the control "
        "plane serializes each function's changes in-process, and replicas would need a "
        "lease per function, which does not exist yet (docs/adr/0002)",
    )
    _check_exposure(config)


def _check_image(config: StackConfig) -> None:
    if config.control_plane_image:
        require(
            _BY_DIGEST.match(config.control_plane_image) is not None,
            f"controlPlaneImage {config.control_plane_image!r} names a mutable tag: give it by "
            "digest, `<repository>@sha256:<64 hex>` (what `make images push` prints and writes "
            "to the images lock)",
        )
        return
    require(
        bool(control_plane_reference("", config.images_lock)),
        "deployControlPlane is true but controlPlaneImage is empty and imagesLock names no "
        'control-plane image: `pulumi config set imagesLock "$(cat images.lock.json)"` after '
        "`make images push REGISTRY=…`",
    )


def _check_exposure(config: StackConfig) -> None:
    for cidr in config.control_plane_allowed_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError as exc:
            raise ConfigError(f"controlPlaneAllowedCidrs: {cidr!r} is not a CIDR block") from exc
    for host in config.control_plane_hosts:
        require(
            _HOST.match(host) is not None,
            f"controlPlaneHosts: {host!r} is not a host name (lowercase, no port, no wildcard)",
        )
    for origin in config.control_plane_cors_origins:
        require(
            _ORIGIN.match(origin) is not None,
            f"controlPlaneCorsOrigins: {origin!r} is not an origin (scheme://host[:port])",
        )
    arn = config.control_plane_certificate_arn
    require(
        not arn or _CERTIFICATE_ARN.match(arn) is not None,
        f"controlPlaneCertificateArn {arn!r} is not an ACM certificate ARN",
    )
    if not config.control_plane_public:
        return
    require(
        bool(arn),
        "controlPlanePublic is true but controlPlaneCertificateArn is empty: the control plane "
        "is only exposed over HTTPS; `pulumi config set controlPlaneCertificateArn "
        "arn:aws:acm:<region>:<account>:certificate/<id>`",
    )
    require(
        bool(config.control_plane_allowed_cidrs),
        "controlPlanePublic is true but controlPlaneAllowedCidrs is empty: list who may reach "
        "it, e.g. `pulumi config set --path 'controlPlaneAllowedCidrs[0]' 203.0.113.0/24`",
    )
    require(
        bool(config.control_plane_hosts),
        "controlPlanePublic is true but controlPlaneHosts is empty: name the host(s) the "
        "certificate covers, e.g. `pulumi config set --path 'controlPlaneHosts[0]' "
        "lambda.example.com`",
    )
    require(
        not config.control_plane_public_url.startswith("http://"),
        "controlPlanePublicUrl must be https:// when the control plane is public",
    )


def allowed_hosts(config: StackConfig, service_namespace: str) -> tuple[str, ...]:
    """`LAMBDACLONE_ALLOWED_HOSTS`: the configured names, the public URL's, the Service's
    cluster names and loopback (port-forward) — never `*`."""
    public = urlsplit(config.control_plane_public_url).hostname or ""
    service = [NAME, f"{NAME}.{service_namespace}", f"{NAME}.{service_namespace}.svc"]
    names = [*config.control_plane_hosts, public, *service, *LOOPBACK_HOSTS]
    return tuple(dict.fromkeys(n for n in names if n))


def in_cluster_url(config: StackConfig) -> str:
    """Where function pods reach it (`LAMBDACLONE_K8S_ARTIFACT_URL`): the Service's fully
    qualified name on its `internal` port, which the functions' egress policy opens."""
    return f"http://{NAME}.{config.system_namespace}.svc.cluster.local:{PORT}"


def inbound_cidrs(config: StackConfig) -> tuple[str, ...]:
    """Who may connect to the control plane's load balancer: the configured CIDRs, or (when
    it is internal and none are given) the VPC."""
    return config.control_plane_allowed_cidrs or (config.vpc_cidr,)


def check_admin_token(token: str) -> str:
    """The shape engine/access.py accepts (`lct_` + 43 base64url characters, 256 bits)."""
    body = token.removeprefix(TOKEN_PREFIX)
    if not (
        token.startswith(TOKEN_PREFIX) and len(body) == TOKEN_CHARS and _TOKEN_BODY.match(body)
    ):
        raise ConfigError(f"adminToken must be `lct_` and 43 base64url characters: {ADMIN_HINT}")
    return token


def check_secret_key(key: str) -> str:
    """Base64 of 32 bytes, as engine/keyring.py decodes it."""
    try:
        raw = base64.urlsafe_b64decode(key.strip() + "=" * (-len(key.strip()) % 4))
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(f"secretKey is not base64: {SEALING_HINT}") from exc
    if len(raw) != SECRET_KEY_BYTES:
        raise ConfigError(f"secretKey must be {SECRET_KEY_BYTES} bytes, base64: {SEALING_HINT}")
    return key.strip()
