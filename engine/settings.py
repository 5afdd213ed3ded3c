"""All configuration, read once from `LAMBDACLONE_*` environment variables (or passed in tests).

Defaults give the embedded single-machine setup: local target, a FerretDB started on demand
under the data directory, code kept in MongoDB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "lambdaclone"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAMBDACLONE_", frozen=True)

    # --- serving --------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(
        default="", description="Base URL shown for endpoints; defaults to http://host:port."
    )
    data_dir: Path = Field(default_factory=_default_data_dir)
    forwarded_allow_ips: str = Field(
        default="", description="Proxies whose X-Forwarded-For is trusted ('*' behind the ALB)."
    )
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Host names (no port) that /lambda writes may be addressed to, comma "
        "separated; `*` allows any. Empty: 127.0.0.1, localhost, [::1], `host` and the host of "
        "`public_url` (see `allowed_host_names`).",
    )

    # --- store ----------------------------------------------------------------------------
    mongodb_uri: str | None = Field(
        default=None, description="Unset: start the embedded FerretDB under data_dir."
    )
    database: str = "lambdaclone"
    store_timeout_ms: int = 3_000

    # --- functions ------------------------------------------------------------------------
    target: Literal["local", "kubernetes"] = "local"
    code_store: Literal["mongo", "s3"] = "mongo"
    max_code_bytes: int = 512 * 1024
    max_payload_bytes: int = 6 * 1024 * 1024
    max_concurrent_operations: int = 4

    # --- S3 (code artifacts) --------------------------------------------------------------
    s3_bucket: str = "lambdaclone-code"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"

    # --- local target ---------------------------------------------------------------------
    idle_timeout_s: float = 300.0
    worker_start_timeout_s: float = 10.0
    prewarm_workers: bool = Field(
        default=True,
        description="Keep one pre-started worker per runtime that supports it (the interpreter "
        "started, the wrapper imported) for fast cold starts.",
    )

    # --- kubernetes target ----------------------------------------------------------------
    kubeconfig: Path | None = None
    kube_context: str | None = None
    namespace: str = "lambdaclone-functions"
    k8s_code_store: Literal["configmap", "s3"] = "configmap"
    ingress_class: str = "alb"
    ingress_group: str = "lambdaclone"
    skip_await_ingress: bool = False
    image_registry: str = "lambdaclone"
    pulumi_backend_url: str | None = Field(
        default=None, description="Unset: a file backend under data_dir/pulumi/state."
    )
    # The file backend's default for one machine; real installations set their own.
    pulumi_passphrase: str = "lambdaclone-local"  # noqa: S105
    pulumi_home: Path | None = None
    pulumi_command: Path | None = Field(
        default=None, description="Unset: `pulumi` found on PATH or in the tool cache."
    )
    base_stack: str | None = Field(
        default=None, description="org/project/stack of the base stack whose outputs to read."
    )
    k8s_alb_scheme: Literal["internet-facing", "internal"] = "internet-facing"
    k8s_fetch_image: str = Field(
        default="public.ecr.aws/aws-cli/aws-cli:2.22.35",
        description="Init-container image that copies the code from S3 (code store `s3`).",
    )
    k8s_service_account: str | None = Field(
        default=None, description="Service account of function pods (e.g. IRSA for S3 reads)."
    )
    k8s_replicas: int = 1
    k8s_await_timeout_s: int = Field(
        default=300, description="How long an apply waits for the Deployment to be available."
    )
    k8s_upstream: Literal["service", "nodeport"] = Field(
        default="service",
        description="Invoke through the Service's cluster DNS name, or a node's NodePort.",
    )
    k8s_node_host: str = Field(
        default="127.0.0.1", description="Node address used when k8s_upstream is `nodeport`."
    )

    @property
    def endpoint_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        """`LAMBDACLONE_ALLOWED_HOSTS=a.example,b.example` (or a JSON list)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def allowed_host_names(self) -> frozenset[str]:
        """The Host names (lowercase, IPv6 in brackets) writes are accepted for; `*` is any."""
        if self.allowed_hosts:
            return frozenset(host_name(h) for h in self.allowed_hosts)
        public = urlsplit(self.public_url).hostname if self.public_url else None
        names = [*LOCAL_HOSTS, self.host, *([public] if public else [])]
        return frozenset(host_name(n) for n in names)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_name(name: str) -> str:
    """A host name as it appears in a Host header: lowercase, an IPv6 address in brackets."""
    name = name.strip().lower()
    if ":" in name and not name.startswith("["):
        return f"[{name}]"
    return name
