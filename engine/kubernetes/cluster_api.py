"""A small, read-only Kubernetes API client for what Pulumi does not tell the target: how a
rollout is going (the Deployment, its pods and their containers' states, the Service's
endpoints), the pods' logs, and whether the pods are gone after a delete.

It acts with the control plane's own credentials, as pulumi-kubernetes does: the kubeconfig the
target was given (a bearer token, client certificates, or an exec plugin such as
`aws eks get-token`), else the pod's service account inside the cluster, else `$KUBECONFIG` or
`~/.kube/config`. It is not the `kubernetes` package, which is only a test dependency: the
control-plane image carries the runtime dependencies alone, and httpx plus a kubeconfig reader
cover these few GETs.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]  # pyyaml: a dependency of pulumi

from engine.errors import TargetError

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REREAD_S = 60.0
"""Projected service-account tokens are rotated by the kubelet: read the file again this often."""
EXEC_MARGIN_S = 60.0
EXEC_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
Json = dict[str, Any]


@dataclass(frozen=True)
class Credentials:
    """Where the API server is and how to prove who we are (one of token, token file,
    client certificate or exec plugin)."""

    server: str
    ca_pem: str | None = None
    insecure: bool = False
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    cert_pem: str | None = field(default=None, repr=False)
    key_pem: str | None = field(default=None, repr=False)
    exec_plugin: Mapping[str, Any] | None = None


def _pem(entry: Mapping[str, Any], data_key: str, file_key: str) -> str | None:
    """A `*-data` value (base64) or the file it names, as PEM text."""
    if entry.get(data_key):
        return base64.b64decode(entry[data_key]).decode()
    if entry.get(file_key):
        return Path(str(entry[file_key])).expanduser().read_text()
    return None


def _named(items: object, name: str, kind: str) -> Mapping[str, Any]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            found = item.get(kind)
            return found if isinstance(found, dict) else {}
    raise TargetError(f"kubeconfig: no {kind} named {name!r}")


def credentials_from_kubeconfig(text: str, context: str | None = None) -> Credentials:
    """The cluster and user of `context` (default: the current context) of a kubeconfig."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TargetError(f"kubeconfig is not YAML or JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise TargetError("kubeconfig is not a mapping")
    name = context or str(config.get("current-context") or "")
    ctx = _named(config.get("contexts"), name, "context")
    cluster = _named(config.get("clusters"), str(ctx.get("cluster")), "cluster")
    user = _named(config.get("users"), str(ctx.get("user")), "user") if ctx.get("user") else {}
    if user.get("auth-provider"):
        raise TargetError("kubeconfig: auth-provider users are not supported; use exec or token")
    token_file = user.get("tokenFile")
    return Credentials(
        server=str(cluster.get("server", "")).rstrip("/"),
        ca_pem=_pem(cluster, "certificate-authority-data", "certificate-authority"),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        token=user.get("token"),
        token_file=Path(str(token_file)).expanduser() if token_file else None,
        cert_pem=_pem(user, "client-certificate-data", "client-certificate"),
        key_pem=_pem(user, "client-key-data", "client-key"),
        exec_plugin=user.get("exec"),
    )


def in_cluster_credentials(directory: Path = IN_CLUSTER_DIR) -> Credentials | None:
    """The pod's service account, as every in-cluster client finds it; None outside a pod."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port or not (directory / "token").is_file():
        return None
    host = f"[{host}]" if ":" in host else host
    ca = directory / "ca.crt"
    return Credentials(
        server=f"https://{host}:{port}",
        ca_pem=ca.read_text() if ca.is_file() else None,
        token_file=directory / "token",
    )


def ambient_credentials() -> Credentials:
    """No kubeconfig was given: in a pod, its service account; else `$KUBECONFIG` (its first
    file) or `~/.kube/config`, as kubectl and the Pulumi provider would."""
    found = in_cluster_credentials()
    if found is not None:
        return found
    paths = os.environ.get("KUBECONFIG", "").split(os.pathsep)
    path = Path(paths[0]).expanduser() if paths[0] else Path.home() / ".kube" / "config"
    try:
        return credentials_from_kubeconfig(path.read_text())
    except OSError as exc:
        raise TargetError(f"no Kubernetes credentials: not in a pod and no {path}") from exc


class _TokenSource:
    """The bearer token for the next request: fixed, re-read from a rotating file, or from an
    exec plugin, kept until shortly before it expires."""

    def __init__(self, creds: Credentials) -> None:
        self._creds = creds
        self._value: str | None = creds.token
        self._until = float("inf") if creds.token else 0.0
        self._lock = threading.Lock()

    def token(self) -> str | None:
        if self._creds.token_file is None and self._creds.exec_plugin is None:
            return self._creds.token
        with self._lock:
            if time.monotonic() >= self._until:
                self._value, self._until = self._fetch()
            return self._value

    def _fetch(self) -> tuple[str, float]:
        if self._creds.token_file is not None:
            try:
                text = self._creds.token_file.read_text().strip()
            except OSError as exc:
                raise TargetError(f"cannot read the token file: {exc}") from exc
            return text, time.monotonic() + TOKEN_REREAD_S
        assert self._creds.exec_plugin is not None
        return exec_token(self._creds.exec_plugin)


def exec_token(plugin: Mapping[str, Any]) -> tuple[str, float]:
    """Runs a kubeconfig exec plugin (client.authentication.k8s.io ExecCredential): its token
    and the monotonic time to fetch a new one."""
    command = [str(plugin.get("command", "")), *(str(a) for a in plugin.get("args") or [])]
    env = dict(os.environ)
    env.update({str(e["name"]): str(e["value"]) for e in plugin.get("env") or []})
    info = {
        "apiVersion": plugin.get("apiVersion", "client.authentication.k8s.io/v1"),
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=EXEC_TIMEOUT_S, check=True
        )
        status = json.loads(done.stdout)["status"]
        token = str(status["token"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"kubeconfig exec plugin {command[0]!r} failed: {exc}") from exc
    expires = status.get("expirationTimestamp")
    if not expires:
        return token, float("inf")
    left = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp() - time.time()
    return token, time.monotonic() + max(0.0, left - EXEC_MARGIN_S)


def ssl_context(creds: Credentials) -> ssl.SSLContext:
    """Server verification by the cluster's CA (or none, as the kubeconfig asks), and the
    client certificate, which `ssl` only loads from files: written owner-only, then removed."""
    context = (
        ssl.create_default_context(cadata=creds.ca_pem)
        if creds.ca_pem
        else (ssl.create_default_context())
    )
    if creds.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if creds.cert_pem and creds.key_pem:
        with tempfile.TemporaryDirectory(prefix="lc-kube-") as tmp:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert.write_text(creds.cert_pem)
            key.write_text(creds.key_pem)
            context.load_cert_chain(cert, key)
    return context


class KubeApi:
    """GETs against one cluster; thread-safe (httpx's client is). 404 answers None."""

    def __init__(self, creds: Credentials, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        if not creds.server:
            raise TargetError("kubeconfig names no API server")
        self._tokens = _TokenSource(creds)
        self._client = httpx.Client(
            base_url=creds.server, verify=ssl_context(creds), timeout=timeout_s
        )

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None) -> KubeApi:
        creds = credentials_from_kubeconfig(kubeconfig, context) if kubeconfig else None
        return cls(creds or ambient_credentials())

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Json | None:
        response = self._request(path, params)
        if response is None:
            return None
        found: Json = response.json()
        return found

    def text(self, path: str, params: Mapping[str, str | int] | None = None) -> str | None:
        response = self._request(path, params)
        return None if response is None else response.text

    def _request(self, path: str, params: Mapping[str, str | int] | None) -> httpx.Response | None:
        token = self._tokens.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        query = dict(params or {})
        try:
            try:
                response = self._client.get(path, params=query, headers=headers)
            except httpx.TransportError:  # a pooled connection gone bad: a GET may be retried
                response = self._client.get(path, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise TargetError(f"kubernetes API GET {path}: {exc}") from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if response.is_error:
            raise TargetError(
                f"kubernetes API GET {path}: {response.status_code} {_message(response)}",
                detail={"status": response.status_code, "path": path},
            )
        return response


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]
