"""What a function's pods get from its per-function options: the Lambda convention's event
options in the container's environment (only when set, so existing pods do not roll), and its
layers — the artifact's `opt/` tree mounted read-only beside the code, and the same layer paths
the local sandbox gives (one definition, `engine.layer_env`)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from engine import layer_env
from engine.artifact_tar import POD_OPT_DIR
from engine.kubernetes import resources
from engine.kubernetes.builds import FORMAT, PodArtifact, build_id, needs_artifact
from engine.kubernetes.layer_pod import image_path
from engine.kubernetes.layer_pod import layer_env as pod_layer_env
from engine.kubernetes.resources import Artifact
from engine.layers import LayerRef, Layers
from engine.local import layers as local_layers
from engine.spec import FunctionSpec, sha256_text
from tests.fixtures.k8s_specs import make_config, make_spec

PROVIDED = "registry.test/lambdaclone/runtime-provided@sha256:" + "1" * 64
CFG = make_config(artifact_url="http://10.0.0.5:8000", artifact_image=PROVIDED)
BUILT = PodArtifact("a" * 64, "lcpull_secret")
UTILS = LayerRef("utils", 1, "b" * 64, 10, "code/utils")
EXTRA = LayerRef("extra", 2, "c" * 64, 10, "code/extra")
LAYER_NAMES = {"PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "NODE_PATH"}


def with_layers(spec: FunctionSpec, *refs: LayerRef) -> FunctionSpec:
    return replace(spec, config=replace(spec.config, layers=Layers.of(list(refs))))


def pod_of(spec: FunctionSpec, built: PodArtifact | None = BUILT) -> dict[str, Any]:
    manifest = resources.deployment(spec, CFG, Artifact.of(spec), built)
    return dict(manifest["spec"]["template"]["spec"])


def env_of(spec: FunctionSpec, built: PodArtifact | None = BUILT) -> dict[str, str]:
    (container,) = pod_of(spec, built)["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_the_event_options_reach_the_container_only_when_set() -> None:
    spec = make_spec(event_format="1.0", routes=["/items/{id}", "/"], convention="lambda")
    env = env_of(spec, None)
    assert env["LAMBDA_EVENT_FORMAT"] == "1.0"
    assert json.loads(env["LAMBDA_ROUTES"]) == ["/items/{id}", "/"]

    default = env_of(make_spec(convention="lambda"), None)
    assert "LAMBDA_EVENT_FORMAT" not in default and "LAMBDA_ROUTES" not in default


def test_a_python_function_with_layers_mounts_their_tree_read_only_beside_its_code() -> None:
    spec = with_layers(make_spec(), UTILS)
    assert needs_artifact(spec)  # a single file too: its /opt travels in the artifact
    pod = pod_of(spec)
    (container,) = pod["containers"]
    mounts = [m for m in container["volumeMounts"] if m["name"] == "code"]
    assert mounts == [
        {"name": "code", "mountPath": "/var/task", "subPath": "task", "readOnly": True},
        {"name": "code", "mountPath": POD_OPT_DIR, "subPath": "opt", "readOnly": True},
    ]
    (init,) = pod["initContainers"]  # unpacks both trees into the whole volume
    assert {"name": "code", "mountPath": "/var/task"} in init["volumeMounts"]
    assert {"name": "code", "emptyDir": {"sizeLimit": "500Mi"}} in pod["volumes"]

    env = env_of(spec)
    assert (
        env["PYTHONPATH"]
        == f"{POD_OPT_DIR}/python/lib/python3.12/site-packages:{POD_OPT_DIR}/python"
    )
    assert env["LD_LIBRARY_PATH"] == f"{POD_OPT_DIR}/lib"
    assert env["PATH"] == f"{image_path('python')}:{POD_OPT_DIR}/bin"
    assert env["PATH"].startswith("/opt/python/bin:")  # the image's interpreter is still found
    assert "NODE_PATH" not in env


def test_a_node_function_gets_lambdas_node_paths() -> None:
    spec = with_layers(make_spec(runtime="node", code="exports.handler = async () => 1;\n"), UTILS)
    env = env_of(spec)
    assert env["NODE_PATH"] == (
        f"{POD_OPT_DIR}/nodejs/node20/node_modules:{POD_OPT_DIR}/nodejs/node_modules"
    )
    assert env["PATH"].startswith("/opt/node/bin:") and env["PATH"].endswith(f":{POD_OPT_DIR}/bin")
    assert "PYTHONPATH" not in env


def test_the_pod_and_the_local_sandbox_share_one_definition_of_the_layer_paths() -> None:
    assert local_layers.opt_env is layer_env.opt_env
    spec = with_layers(make_spec(), UTILS)
    local = layer_env.opt_env(spec, {"PATH": "/usr/bin"}, "/opt")
    pod = {e["name"]: e["value"] for e in pod_layer_env(spec, [], "/usr/bin")}
    assert {k: v.replace(POD_OPT_DIR, "/opt") for k, v in pod.items()} == local


def test_a_function_without_layers_gets_the_pod_it_always_had() -> None:
    single = make_spec()
    assert not needs_artifact(single)  # still its ConfigMap
    env = env_of(single, None)
    assert not LAYER_NAMES & set(env)
    (container,) = pod_of(single, None)["containers"]
    assert not any(
        "subPath" in m or m["mountPath"] == POD_OPT_DIR for m in container["volumeMounts"]
    )
    spec = single
    legacy = "\n".join((FORMAT, spec.runtime, spec.runtime_version, spec.handler, spec.code_sha256))
    assert build_id(spec) == sha256_text(legacy)  # the same build, the same digest: no roll


def test_the_build_changes_with_the_layers_and_their_order() -> None:
    spec = make_spec()
    ids = {
        build_id(spec),
        build_id(with_layers(spec, UTILS)),
        build_id(with_layers(spec, EXTRA)),
        build_id(with_layers(spec, UTILS, EXTRA)),
        build_id(with_layers(spec, EXTRA, UTILS)),
    }
    assert len(ids) == 5
    assert build_id(with_layers(spec, UTILS)) == build_id(with_layers(spec, UTILS))


def test_a_go_lambda_program_with_layers_appends_to_the_worker_images_path() -> None:
    code = 'package main\n\nimport "github.com/aws/aws-lambda-go/lambda"\n\n'
    code += 'func main() { lambda.Start(func() (string, error) { return "hi", nil }) }\n'
    spec = with_layers(make_spec(runtime="golang", code=code), UTILS)
    env = env_of(spec)
    assert env["PATH"] == f"{image_path('provided')}:{POD_OPT_DIR}/bin"
    assert env["LAMBDA_BOOTSTRAP"] == "/var/task/.lambdaclone/function"
