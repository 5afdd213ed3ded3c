"""Pure builders of what a pod needs to run a built artifact (ADR 0048): the code volume as an
`emptyDir`, the init container that fetches and unpacks the artifact into it, the annotation
that rolls the pods when the artifact changes, and — for a Go `lambda.Start` program — the
Runtime API worker's image, command and bootstrap. No I/O.

The init container runs runtime-provided's image (`cfg.artifact_image`: the catalog's name for
it, by digest with an images lock): one small image for every runtime, with the Python the
fetcher needs, already pulled where Go programs run. It presents the function's pull token
(from the function's Secret, never in the manifest) to the control plane's
`/internal/artifacts/<key>/<digest>`, checks the sha256 the template names, and unpacks
refusing unsafe paths (`tools/images/fetch_artifact.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.kubernetes import layer_pod, names
from engine.kubernetes.builds import PodArtifact, pod_bootstrap, pod_build_dir
from engine.kubernetes.config import ClusterConfig
from engine.spec import FunctionSpec
from runtimes.driver import Toolchain
from runtimes.registry import RUNTIME_API, driver

Manifest = dict[str, Any]

ARTIFACT_ANNOTATION = "lambdaclone.dev/artifact-sha256"
PULL_TOKEN_KEY = "lambdaclone.pull-token"  # noqa: S105 - a key name, not a token
"""The function Secret's entry holding the pull token (a dot: never a variable's name)."""
INIT_CONTAINER = "fetch-artifact"
FETCHER = ("python", "-I", "/opt/lambdaclone/fetch_artifact.py")
CODE_SIZE_LIMIT = "500Mi"
"""Two unpacked packages' worth (Lambda's 250 MB each): room for a build's output too."""


def code_volume() -> Manifest:
    return {"name": "code", "emptyDir": {"sizeLimit": CODE_SIZE_LIMIT}}


def template_annotations(art: PodArtifact) -> dict[str, str]:
    return {ARTIFACT_ANNOTATION: art.digest}


def fetch_container(
    spec: FunctionSpec, cfg: ClusterConfig, art: PodArtifact, security: Manifest
) -> Manifest:
    token = {"secretKeyRef": {"name": names.object_name(spec.key), "key": PULL_TOKEN_KEY}}
    return {
        "name": INIT_CONTAINER,
        "image": cfg.artifact_image,
        "command": list(FETCHER),
        "env": [
            {"name": "ARTIFACT_URL", "value": art.url(cfg, spec.key)},
            {"name": "ARTIFACT_SHA256", "value": art.digest},
            {"name": "ARTIFACT_DEST", "value": names.CODE_DIR},
            {"name": "ARTIFACT_TOKEN", "valueFrom": token},
            {"name": "TMPDIR", "value": names.TMP_DIR},
            {"name": "HOME", "value": names.TMP_DIR},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": security,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "code", "mountPath": names.CODE_DIR},
            {"name": "tmp", "mountPath": names.TMP_DIR},
        ],
    }


def bootstrap_path(spec: FunctionSpec) -> Path | None:
    found = pod_bootstrap(spec)
    return Path(found) if found is not None else None


def worker_runtime(spec: FunctionSpec) -> str:
    """Which runtime's wrapper serves the function: a `lambda.Start` program's is the Runtime
    API worker, as on the local target."""
    return RUNTIME_API if pod_bootstrap(spec) is not None else spec.runtime


def runs_on(spec: FunctionSpec, cfg: ClusterConfig, container: Manifest) -> Manifest:
    """The function container for an artifact: a `lambda.Start` program runs under the Runtime
    API worker's image (its own command); another build (a Go package) runs its binary, as the
    local target runs it; interpreted runtimes load their code from the volume unchanged."""
    runtime = driver(spec.runtime)
    if pod_bootstrap(spec) is not None:
        container = {**container, "image": cfg.artifact_image}
        container.pop("command", None)
    elif runtime.builds:
        launch = runtime.launch(Toolchain("", spec.runtime_version), Path(pod_build_dir()))
        container = {**container, "command": launch}
    return container


def with_artifact(
    spec: FunctionSpec, cfg: ClusterConfig, art: PodArtifact, pod: Manifest, security: Manifest
) -> Manifest:
    """`pod` (the function's pod spec) fed from the artifact instead of a ConfigMap or S3;
    with layers, its container also mounts their tree (`layer_pod`)."""
    volumes = [code_volume() if v["name"] == "code" else v for v in pod["volumes"]]
    image_runtime = worker_runtime(spec)  # the image the container runs
    containers = [
        layer_pod.with_layers(spec, runs_on(spec, cfg, c), image_runtime) for c in pod["containers"]
    ]
    init = [fetch_container(spec, cfg, art, security)]
    return {**pod, "volumes": volumes, "containers": containers, "initContainers": init}
