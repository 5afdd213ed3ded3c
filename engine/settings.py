"""All configuration, read once from `LAMBDACLONE_*` environment variables (or passed in tests).

Defaults give the embedded single-machine setup: local target, a FerretDB started on demand
under the data directory, code kept in MongoDB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "lambdaclone"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAMBDACLONE_", frozen=True)

    # --- serving --------------------------------------------------------------------------
    host: str = Field(
        default="127.0.0.1", description="Address the API, the console and `/endpoint` listen on."
    )
    port: int = Field(default=8000, description="Port they listen on.")
    public_url: str = Field(
        default="", description="Base URL shown for endpoints; defaults to http://host:port."
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Store, workers, Pulumi workspaces (`~/.local/share/lambdaclone`).",
    )
    access_log: bool = Field(
        default=False,
        description="uvicorn's line per request (off: it costs the invoke path several percent; "
        "each function's invocations are in its own log).",
    )
    forwarded_allow_ips: str = Field(
        default="", description="Proxies whose X-Forwarded-For is trusted ('*' behind the ALB)."
    )
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Host names (a port is ignored) the control plane answers for, comma "
        "separated; `*` allows any. Empty: 127.0.0.1, localhost, [::1], `host` and the host of "
        "`public_url` (see `allowed_host_names`).",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Origins (scheme://host[:port]) whose pages may call the API from a "
        "browser, comma separated; empty: none (CORS off).",
    )
    original_api: Literal["off", "on", "public"] = Field(
        default="off",
        description="The original system's dialect under /original: off, on (tokens needed "
        "like any route) or public (no token: the original console sends none).",
    )

    # --- who may do what ------------------------------------------------------------------
    admin_token: SecretStr | None = Field(
        default=None,
        description="The admin API token; unset: one is generated at first start into "
        "data_dir/admin.token.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key (base64, 32 bytes) that wraps the keys of functions' secret values; "
        "unset: generated into data_dir/secret.key.",
    )
    session_hours: float = Field(default=12.0, description="Console sign-in lifetime.")
    signin_failures_per_minute: int = Field(
        default=10, description="Failed sign-ins per client address before 429s."
    )

    # --- store ----------------------------------------------------------------------------
    mongodb_uri: str | None = Field(
        default=None, description="Unset: start the embedded FerretDB under data_dir."
    )
    database: str = Field(
        default="lambdaclone", description="MongoDB database of the control plane."
    )
    store_timeout_ms: int = Field(
        default=3_000, description="How long a store call may take before 503 `store_unavailable`."
    )
    store_heartbeat_timeout_ms: int = Field(
        default=20_000,
        description="How long the store may take to answer the driver's health check before it "
        "counts as down (which cancels the calls in flight): generous, so a loaded store is "
        "not taken for a dead one; a stopped store refuses at once and is noticed within "
        "`store_timeout_ms`.",
    )

    # --- functions ------------------------------------------------------------------------
    target: Literal["local", "kubernetes"] = Field(
        default="local",
        description="Where functions run: local processes, or one Pulumi stack each on Kubernetes.",
    )
    code_store: Literal["mongo", "s3"] = Field(
        default="mongo", description="Where code artifacts are kept: the store, or `s3_bucket`."
    )
    max_code_bytes: int = Field(
        default=512 * 1024,
        description="Largest single-file code (a package has its own limits, docs/packages.md).",
    )
    max_payload_bytes: int = Field(
        default=6 * 1024 * 1024,
        description="Largest invocation request and response body (Lambda's 6 MB).",
    )
    invoke_queue_depth: int = Field(
        default=256,
        ge=0,
        description="Requests that may wait for a place when a function is at its concurrency; "
        "beyond them a request is refused with 429.",
    )
    invoke_queue_wait_ms: int = Field(
        default=5_000,
        ge=0,
        description="How long a request waits for a place before it is refused with 429.",
    )
    data_plane: Literal["python", "go"] = Field(
        default="python",
        description="What serves the public port. `python`: the control plane itself. `go`: a "
        "supervised Go proxy serves warm functions' `/endpoint` calls and hands everything else "
        "to the control plane on a private Unix socket under data_dir (ADR 0052).",
    )
    max_concurrent_operations: int = Field(
        default=4,
        description="Operations (deploys, deletes) run at once; the rest wait their turn.",
    )
    aws_region: str = Field(
        default="us-east-1",
        description="What functions see as AWS_REGION / AWS_DEFAULT_REGION unless they set it.",
    )

    # --- S3 (code artifacts) --------------------------------------------------------------
    s3_bucket: str = Field(default="lambdaclone-code", description="Bucket of the S3 code store.")
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint of another provider (MinIO, a test server); unset: AWS.",
    )
    s3_region: str = Field(default="us-east-1", description="Region of the S3 bucket.")

    # --- local target ---------------------------------------------------------------------
    idle_timeout_s: float = Field(
        default=300.0, description="A local function with no request for this long scales to zero."
    )
    worker_start_timeout_s: float = Field(
        default=10.0, description="How long a new local worker has to become healthy."
    )
    prewarm_workers: bool = Field(
        default=True,
        description="Keep one pre-started worker per runtime that supports it (the interpreter "
        "started, the wrapper imported) for fast cold starts.",
    )

    # --- kubernetes target ----------------------------------------------------------------
    kubeconfig: Path | None = Field(
        default=None,
        description="Kubeconfig of the kubernetes target; unset: in-cluster or ~/.kube/config.",
    )
    kube_context: str | None = Field(
        default=None, description="Context of that kubeconfig; unset: its current one."
    )
    namespace: str = Field(
        default="lambdaclone-functions", description="Namespace of the function resources."
    )
    k8s_code_store: Literal["configmap", "s3"] = Field(
        default="configmap",
        description="How code reaches a pod: a ConfigMap, or an init container reading S3.",
    )
    ingress_class: str = Field(
        default="alb",
        description="Ingress class of the functions' Ingress rules (`traefik` in the tests).",
    )
    ingress_group: str = Field(
        default="lambdaclone", description="ALB group the functions share (one load balancer)."
    )
    skip_await_ingress: bool = Field(
        default=False,
        description="Do not wait for the Ingress to get a load-balancer address (clusters "
        "without an ingress controller).",
    )
    image_registry: str = Field(
        default="lambdaclone",
        description="Where runtime images come from: a repository prefix (images named by "
        "tag, `<prefix>/runtime-<lang>:<version>`), or the absolute path of the images lock "
        "`make images push` writes (images named by digest, `…/runtime-<lang>@sha256:…`).",
    )
    pulumi_backend_url: str | None = Field(
        default=None, description="Unset: a file backend under data_dir/pulumi/state."
    )
    # The file backend's default for one machine; real installations set their own.
    pulumi_passphrase: str | None = Field(
        default=None,
        description="Passphrase that encrypts the function stacks' Pulumi secrets; unset: "
        "generated once into data_dir/pulumi.passphrase (0600). The base stack sets it.",
    )
    pulumi_home: Path | None = Field(
        default=None, description="PULUMI_HOME of the function stacks; unset: under data_dir."
    )
    pulumi_command: Path | None = Field(
        default=None, description="Unset: `pulumi` found on PATH or in the tool cache."
    )
    base_stack: str | None = Field(
        default=None, description="org/project/stack of the base stack whose outputs to read."
    )
    k8s_alb_scheme: Literal["internet-facing", "internal"] = Field(
        default="internet-facing", description="Scheme of the functions' ALB."
    )
    k8s_fetch_image: str = Field(
        default="public.ecr.aws/aws-cli/aws-cli:2.22.35",
        description="Init-container image that copies the code from S3 (code store `s3`).",
    )
    k8s_service_account: str | None = Field(
        default=None, description="Service account of function pods (e.g. IRSA for S3 reads)."
    )
    k8s_replicas: int = Field(default=1, description="Pods per function.")
    k8s_await_timeout_s: int = Field(
        default=300, description="How long an apply waits for the Deployment to be available."
    )
    k8s_upstream: Literal["service", "clusterip", "nodeport"] = Field(
        default="service",
        description="Invoke through the Service's cluster DNS name, its cluster IP (clusters "
        "without DNS for Services), or a node's NodePort (a control plane outside the cluster).",
    )
    k8s_node_selector: dict[str, str] = Field(
        default_factory=dict,
        description='Node labels function pods must run on, as JSON (`{"pool": "functions"}`); '
        "empty: any node.",
    )
    k8s_tolerations: list[dict[str, str]] = Field(
        default_factory=list,
        description="Taints function pods tolerate, as a JSON list of Kubernetes tolerations "
        '(`[{"key": "pool", "operator": "Equal", "value": "functions", "effect": '
        '"NoSchedule"}]`); empty: none.',
    )
    k8s_drain_s: int = Field(
        default=5,
        ge=0,
        description="How long a replaced pod keeps serving after it leaves the Service's "
        "endpoints (a preStop pause), so ingress controllers and load balancers, which learn "
        "of it seconds later, stop sending to it first.",
    )
    k8s_node_host: str = Field(
        default="127.0.0.1", description="Node address used when k8s_upstream is `nodeport`."
    )
    k8s_artifact_url: str = Field(
        default="",
        description="The control plane's base URL as function pods reach it (the base stack "
        "sets `http://lambdaclone-control-plane.lambdaclone-system.svc.cluster.local:8000`): "
        "their init container downloads a package's or Go program's built artifact from "
        "`<url>/internal/artifacts/…`. Empty: the Kubernetes target refuses functions that need "
        "one (501).",
    )

    # --- local sandbox --------------------------------------------------------------------
    sandbox: Literal["auto", "strict", "off"] = Field(
        default="auto",
        description="Local workers in a sandbox (bubblewrap + cgroups, docs/local-target.md): "
        "`auto` where the machine allows it (root, bwrap, cgroup v1), else plain processes "
        "with a warning; `strict` refuses to start without it; `off` never.",
    )
    sandbox_uid_first: int = Field(
        default=61000, ge=1000, description="First uid of the range sandboxed workers run as."
    )
    sandbox_uid_count: int = Field(
        default=1000, ge=1, description="How many uids (one per running worker) the range has."
    )
    sandbox_run_dir: Path = Field(
        default=Path("/run/lambdaclone"),
        description="The workers' socket directories (short: a socket path has ≤ 107 bytes).",
    )
    sandbox_cgroup: str = Field(
        default="lambdaclone-workers",
        description="Base cgroup (under the control plane's own) of the sandboxed workers.",
    )
    sandbox_cpus: float = Field(default=1.0, gt=0, description="CPU quota of each worker.")
    sandbox_pids_max: int = Field(
        default=1024, ge=16, description="Processes and threads one worker may have."
    )

    @property
    def endpoint_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @field_validator("allowed_hosts", "cors_origins", mode="before")
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

    # --- HTTP limits (`lambdaclone serve`, api/serving.py) ------------------------------------
    http_max_header_bytes: int = Field(
        default=64 * 1024, gt=0, description="Request line plus headers, at most (else 431)."
    )
    http_max_headers: int = Field(default=100, gt=0, description="Headers per request (431).")
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's headers (408)."
    )
    http_keep_alive_s: float = Field(
        default=5.0,
        gt=0,
        description="Idle time before a kept-alive connection is closed; behind a load "
        "balancer, longer than its idle timeout (60 s on an ALB).",
    )


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_name(name: str) -> str:
    """A host name as it appears in a Host header, without its port: lowercase, an IPv6
    address in brackets (`example.com:8443` → `example.com`, `::1` → `[::1]`)."""
    name = name.strip().lower()
    if name.count(":") > 1 and not name.startswith("["):  # a bare IPv6 address
        return f"[{name}]"
    try:
        parsed = urlsplit(f"//{name}").hostname or ""
    except ValueError:
        return name
    return f"[{parsed}]" if ":" in parsed else parsed
