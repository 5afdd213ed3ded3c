"""The Kubernetes API client's credentials: kubeconfigs (tokens, certificates, exec plugins)
and the pod's service account."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.errors import TargetError
from engine.kubernetes.cluster_api import (
    credentials_from_kubeconfig,
    exec_token,
    in_cluster_credentials,
)

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def kubeconfig(user: Mapping[str, object], cluster: Mapping[str, object] | None = None) -> str:
    return json.dumps(
        {
            "clusters": [{"name": "c", "cluster": cluster or {"server": "https://k:6443/"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [
                {"name": "main", "context": {"cluster": "c", "user": "u"}},
                {"name": "other", "context": {"cluster": "c"}},
            ],
            "current-context": "main",
        }
    )


def test_a_token_kubeconfig_in_json_or_yaml() -> None:
    creds = credentials_from_kubeconfig(kubeconfig({"token": "t0k"}))
    assert (creds.server, creds.token, creds.insecure) == ("https://k:6443", "t0k", False)
    yaml_text = (
        "clusters: [{name: c, cluster: {server: 'https://y', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: y}}]\n"
        "contexts: [{name: main, context: {cluster: c, user: u}}]\ncurrent-context: main\n"
    )
    creds = credentials_from_kubeconfig(yaml_text)
    assert (creds.server, creds.token, creds.insecure) == ("https://y", "y", True)


def test_certificates_come_from_data_fields() -> None:
    data = base64.b64encode(CA.encode()).decode()
    cluster = {"server": "https://k", "certificate-authority-data": data}
    user = {"client-certificate-data": data, "client-key-data": data}
    creds = credentials_from_kubeconfig(kubeconfig(user, cluster))
    assert creds.ca_pem == creds.cert_pem == creds.key_pem == CA
    assert "k3y" not in repr(creds)


def test_the_context_is_chosen_by_name() -> None:
    creds = credentials_from_kubeconfig(kubeconfig({"token": "t"}), context="other")
    assert creds.token is None
    with pytest.raises(TargetError, match="no context named 'missing'"):
        credentials_from_kubeconfig(kubeconfig({}), context="missing")


def test_auth_providers_are_refused_clearly() -> None:
    with pytest.raises(TargetError, match="auth-provider"):
        credentials_from_kubeconfig(kubeconfig({"auth-provider": {"name": "gcp"}}))


def test_an_exec_plugin_gives_a_token_until_it_expires(tmp_path: Path) -> None:
    script = tmp_path / "get-token.py"
    script.write_text(
        "import json, os\n"
        "assert json.loads(os.environ['KUBERNETES_EXEC_INFO'])['kind'] == 'ExecCredential'\n"
        "print(json.dumps({'status': {'token': os.environ['TOKEN'],\n"
        "  'expirationTimestamp': '2999-01-01T00:00:00Z'}}))\n"
    )
    plugin = {
        "command": sys.executable,
        "args": [str(script)],
        "env": [{"name": "TOKEN", "value": "from-exec"}],
    }
    token, until = exec_token(plugin)
    assert token == "from-exec"
    assert until > 1e6
    with pytest.raises(TargetError, match="exec plugin"):
        exec_token({"command": sys.executable, "args": ["-c", "print('no json')"]})


def test_in_cluster_credentials_read_the_service_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert in_cluster_credentials(tmp_path) is None
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_text(CA)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    creds = in_cluster_credentials(tmp_path)
    assert creds is not None
    assert creds.server == "https://10.96.0.1:443"
    assert creds.token_file == tmp_path / "token"
    assert creds.ca_pem == CA
