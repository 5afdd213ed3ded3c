"""Built artifacts in the pod template: an emptyDir code volume filled by a non-root,
read-only init container with the function's pull token from its Secret, the digest on the
template (a new artifact rolls the pods, the same one does not), and Go `lambda.Start`
programs run by the Runtime API worker; the program declares no ConfigMap for them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine import package
from engine.errors import NotSupported
from engine.kubernetes import resources
from engine.kubernetes.artifact_pod import ARTIFACT_ANNOTATION, PULL_TOKEN_KEY
from engine.kubernetes.builds import (
    ArtifactBuilder,
    FunctionArtifacts,
    PodArtifact,
    needs_artifact,
)
from engine.kubernetes.program import (
    CONFIGMAP_TYPE,
    S3_OBJECT_TYPE,
    SECRET_TYPE,
    planned_resources,
)
from engine.kubernetes.resources import Artifact
from tests.fixtures.k8s_specs import KEY, make_config, make_spec, run_program
from tests.fixtures.packages import zip_of

PROVIDED = "registry.test/lambdaclone/runtime-provided@sha256:" + "1" * 64
CFG = make_config(artifact_url="http://10.0.0.5:8000", artifact_image=PROVIDED)
DIGEST = "a" * 64
BUILT = PodArtifact(DIGEST, "lcpull_secret")
LAMBDA_GO = """package main

import (
\t"context"

\t"github.com/aws/aws-lambda-go/lambda"
)

func main() { lambda.Start(func(ctx context.Context) (string, error) { return "hi", nil }) }
"""


def python_package() -> Any:
    code = package.read(zip_of({"handler.py": "import six\n", "requirements.txt": "six\n"}))
    return make_spec(code=code.encode())


def template(spec: Any, built: PodArtifact | None = BUILT) -> dict[str, Any]:
    manifest = resources.deployment(spec, CFG, Artifact.of(spec), built)
    return dict(manifest["spec"]["template"])


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_init_container_fetches_the_artifact_into_an_empty_dir() -> None:
    pod = template(python_package())["spec"]
    (init,) = pod["initContainers"]
    assert init["image"] == PROVIDED
    assert init["command"] == ["python", "-I", "/opt/lambdaclone/fetch_artifact.py"]
    env = env_of(init)
    assert env["ARTIFACT_URL"] == f"http://10.0.0.5:8000/internal/artifacts/{KEY}/{DIGEST}"
    assert env["ARTIFACT_SHA256"] == DIGEST
    assert env["ARTIFACT_TOKEN"] == {"secretKeyRef": {"name": f"lc-{KEY}", "key": PULL_TOKEN_KEY}}
    assert "lcpull_secret" not in str(pod)  # the token is only in the Secret
    security = init["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert not security["allowPrivilegeEscalation"]
    assert {"name": "code", "mountPath": "/var/task"} in init["volumeMounts"]
    assert init["resources"]["limits"]["memory"] == "128Mi"

    code = next(v for v in pod["volumes"] if v["name"] == "code")
    assert code == {"name": "code", "emptyDir": {"sizeLimit": "500Mi"}}
    (function,) = pod["containers"]
    mount = next(m for m in function["volumeMounts"] if m["name"] == "code")
    assert mount == {"name": "code", "mountPath": "/var/task", "readOnly": True}
    assert function["image"] == python_package().image  # the runtime's own image


def test_the_template_names_the_digest_so_only_a_new_artifact_rolls() -> None:
    spec = python_package()
    assert template(spec)["metadata"]["annotations"][ARTIFACT_ANNOTATION] == DIGEST
    assert template(spec) == template(spec, PodArtifact(DIGEST, "lcpull_secret"))
    assert template(spec) != template(spec, PodArtifact("b" * 64, "lcpull_secret"))


def test_a_go_lambda_program_runs_behind_the_runtime_api_worker() -> None:
    spec = make_spec(runtime="golang", code=LAMBDA_GO)
    assert needs_artifact(spec)
    (function,) = template(spec)["spec"]["containers"]
    assert function["image"] == PROVIDED
    assert "command" not in function  # the image's own: the Runtime API server
    env = env_of(function)
    assert env["LAMBDA_BOOTSTRAP"] == "/var/task/.lambdaclone/function"
    assert env["LAMBDA_RUNTIME_DIR"] == "/opt/lambdaclone/runtimes/provided"


def test_single_files_keep_their_configmap() -> None:
    spec = make_spec()
    assert not needs_artifact(spec) and not needs_artifact(make_spec(runtime="golang"))
    pod = template(spec, None)["spec"]
    assert "initContainers" not in pod
    assert any("configMap" in v for v in pod["volumes"])


def test_the_program_declares_the_pull_token_secret_and_no_configmap() -> None:
    spec = python_package()
    run = run_program(spec, CFG, built=BUILT)
    assert not run.of_type(CONFIGMAP_TYPE)
    secret = run.one(SECRET_TYPE)
    assert secret.inputs["stringData"] == {PULL_TOKEN_KEY: "lcpull_secret"}
    declared = {(r.name, r.type) for r in run.resources if not r.type.startswith("pulumi:")}
    assert {(c.name, c.type) for c in planned_resources(spec, CFG, True)} == declared


def test_a_cluster_without_an_artifact_url_refuses_packages_clearly(tmp_path: Path) -> None:
    artifacts = FunctionArtifacts(ArtifactBuilder.under(tmp_path), None)
    with pytest.raises(NotSupported, match="LAMBDACLONE_K8S_ARTIFACT_URL"):
        artifacts.prepare(python_package(), make_config(), None)
    assert artifacts.prepare(make_spec(), make_config(), None) is None


def test_with_the_s3_store_an_artifact_replaces_the_object_and_its_copy() -> None:
    cfg = replace(CFG, code_store="s3")
    run = run_program(python_package(), cfg, built=BUILT)
    assert not run.of_type(S3_OBJECT_TYPE)
    assert not run.of_type("pulumi:providers:aws")
    assert [c["name"] for c in run.pod_spec["initContainers"]] == ["fetch-artifact"]


def test_a_go_package_runs_the_binary_the_control_plane_built() -> None:
    code = package.read(zip_of({"handler.go": make_spec(runtime="golang").code})).encode()
    spec = make_spec(runtime="golang", code=code)
    (function,) = template(spec)["spec"]["containers"]
    assert function["image"] == spec.image  # the Go image, not the Runtime API worker's
    assert function["command"] == ["/var/task/.lambdaclone/function"]
    assert "LAMBDA_BOOTSTRAP" not in env_of(function)
