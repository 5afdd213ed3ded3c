"""All configuration, read once from `LAMBDACLONE_*` environment variables (or passed in tests).

Defaults give the embedded single-machine setup: local target, a FerretDB started on demand
under the data directory, code kept in MongoDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    prewarm_python: bool = Field(
        default=True,
        description="Keep one pre-started Python worker (wrapper, Flask imported) for cold starts",
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
