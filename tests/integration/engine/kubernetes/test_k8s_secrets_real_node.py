"""Function secrets and invoke auth on the real node: a canary secret value reaches the
function's process (its pods really ran it), and appears nowhere but in the function's Secret —
not in `pulumi stack export`, the backend's state files, the workspace, the ConfigMap or the
Deployment. Changing it rolls the pods; a token-protected function gets no Ingress rule."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from engine.kubernetes import names
from engine.spec import FunctionSpec
from tests.fixtures.k8s_cluster import RealImages, function_spec, real_k8s_target
from tests.fixtures.real_cluster import RealCluster, real_cluster

__all__ = ["real_cluster", "real_k8s_target"]

pytestmark = [pytest.mark.real_node, pytest.mark.cluster, pytest.mark.timeout(600)]

CODE = """import os


def handler(event, context):
    return {"token": os.environ.get("API_TOKEN"), "stage": os.environ.get("STAGE")}
"""


def sealed(target: RealImages, spec: FunctionSpec, values: dict[str, str | None]) -> FunctionSpec:
    secrets = target.keyring.seal(values, spec.config.secrets)
    return replace(spec, config=replace(spec.config, secrets=secrets))


def answer(target: RealImages, key: str) -> dict[str, object]:
    upstream = asyncio.run(target.upstream(key))
    url = f"http://{upstream.host}:{upstream.port}{upstream.path_prefix}"
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def kube_json(cluster: RealCluster, *args: str) -> str:
    return cluster.kube.kubectl(*args, "-o", "json")


def everything_pulumi_wrote(target: RealImages, key: str) -> str:
    """`pulumi stack export` and every file of the backend and the function's workspace."""
    service = target.target.service
    exported = service.function_workspace(key).export_stack(names.stack_name(key))
    texts = [json.dumps(exported.deployment)]
    roots = [service.layout.workspace(key), service.layout.backend_dir]
    for root in (r for r in roots if r is not None):
        texts += [p.read_text(errors="replace") for p in Path(root).rglob("*") if p.is_file()]
    return "\n".join(texts)


def test_a_secret_reaches_the_function_and_only_its_kubernetes_secret(
    real_k8s_target: RealImages, real_cluster: RealCluster
) -> None:
    target, key = real_k8s_target, f"s{uuid.uuid4().hex[:10]}"
    canary = f"canary-{uuid.uuid4().hex}"
    spec = sealed(target, function_spec(key, CODE), {"API_TOKEN": canary})
    target.apply(spec, lambda _line: None)
    assert answer(target, key) == {"token": canary, "stage": "test"}

    namespace = target.target.config().namespace
    name = names.object_name(key)
    secret = json.loads(kube_json(real_cluster, "get", "secret", "-n", namespace, name))
    assert base64.b64decode(secret["data"]["API_TOKEN"]).decode() == canary
    for kind in ("configmap", "deployment"):
        assert canary not in kube_json(real_cluster, "get", kind, "-n", namespace, name), kind
    pods = kube_json(real_cluster, "get", "pods", "-n", namespace, "-l", f"{names.KEY_LABEL}={key}")
    assert canary not in pods
    written = everything_pulumi_wrote(target, key)
    assert name in written, "the export does describe the function's objects"
    assert canary not in written

    changed = f"canary-{uuid.uuid4().hex}"
    target.apply(sealed(target, spec, {"API_TOKEN": changed}), lambda _line: None)
    assert answer(target, key)["token"] == changed, "the pods rolled with the new value"
    assert changed not in everything_pulumi_wrote(target, key)


def test_a_token_protected_function_is_served_but_has_no_ingress_rule(
    real_k8s_target: RealImages, real_cluster: RealCluster
) -> None:
    target, key = real_k8s_target, f"a{uuid.uuid4().hex[:10]}"
    target.apply(function_spec(key, CODE, auth="token"), lambda _line: None)
    upstream = asyncio.run(target.upstream(key))
    assert upstream.auth == "token", "the control plane's proxy asks for the token"
    assert answer(target, key)["stage"] == "test"
    namespace = target.target.config().namespace
    ingresses = json.loads(kube_json(real_cluster, "get", "ingress", "-n", namespace))
    assert [i["metadata"]["name"] for i in ingresses["items"]] == []
    ingress = real_cluster.ingress().url
    assert httpx.get(f"{ingress}/endpoint/{key}", timeout=10).status_code == 404
