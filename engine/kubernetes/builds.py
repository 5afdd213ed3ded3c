"""Which functions the Kubernetes target ships as a built artifact, and building them.

A single source file still reaches the pods in a ConfigMap (or S3 object). A **package** (zip
and its declared dependencies) and a Go **`lambda.Start` program** (its modules downloaded
at build time) need what the local target does before a worker starts: the deployment
directory materialised, dependencies installed, the Go build run. The control plane runs that
same code as a child process (`python -m engine.artifact_build`: the two targets never import
each other) and packs the result into a content-addressed archive (`engine.artifact_tar`),
which the pods' init container fetches (ADR 0048).

A build is looked up by its *build id* — the runtime, its version, the handler and the code's
hash, and its layers' digests when it has any — so re-applying a function whose code did not
change (a new variable, memory) runs no build and names the same digest: the pods roll only for
what changed. A function with layers always gets an artifact (its /opt travels in it), a
single file too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import engine
from engine.artifact_tar import BUILD_DIR, ArtifactStore, Signer, pull_token
from engine.errors import (
    DependencyBuildFailed,
    NotSupported,
    PackageRefused,
    TargetError,
    ToolMissing,
)
from engine.kubernetes import names
from engine.kubernetes.config import ClusterConfig
from engine.spec import FunctionSpec, sha256_text
from engine.target import ProgressSink
from runtimes.registry import driver

FORMAT = "k8s-artifact/1"
ROUTE = "/internal/artifacts"
BUILD_TIMEOUT_S = 1800.0
STDERR_TAIL = 4000
CHILD_ENV_DROPPED = "LAMBDACLONE_"
"""The control plane's own settings (tokens, keys) never reach the build."""
ERRORS: dict[str, type[TargetError]] = {
    "DependencyBuildFailed": DependencyBuildFailed,
    "ToolMissing": ToolMissing,
}


def pod_build_dir() -> PurePosixPath:
    return PurePosixPath(names.CODE_DIR) / BUILD_DIR


def pod_bootstrap(spec: FunctionSpec) -> str | None:
    """The executable a Runtime API worker runs in the pod (a Go `lambda.Start` binary)."""
    found = driver(spec.runtime).runtime_api_bootstrap(Path(pod_build_dir()), spec.code)
    return str(found) if found is not None else None


def needs_artifact(spec: FunctionSpec) -> bool:
    return spec.is_package or pod_bootstrap(spec) is not None or bool(spec.config.layers)


def build_id(spec: FunctionSpec) -> str:
    """Without layers, the id it always had (an unchanged function names the same build)."""
    parts = [FORMAT, spec.runtime, spec.runtime_version, spec.handler, spec.code_sha256]
    parts += [f"layer {ref.sha256}" for ref in spec.config.layers]
    return sha256_text("\n".join(parts))


LayerReader = Callable[[str], str]
"""A layer version's package text by its code-store location (`engine.layer_source`)."""


@dataclass(frozen=True)
class PodArtifact:
    """The built artifact a function's pods fetch, and the token they fetch it with."""

    digest: str
    token: str

    def url(self, cfg: ClusterConfig, key: str) -> str:
        return f"{cfg.artifact_url}{ROUTE}/{names.check_key(key)}/{self.digest}"


@dataclass(frozen=True)
class ArtifactBuilder:
    """Builds into `<data_dir>/kubernetes/build` (the dependency and Go caches) and keeps the
    archives in `store`; `read_layer` fetches the layer versions a build needs."""

    store: ArtifactStore
    build_root: Path
    read_layer: LayerReader | None = None

    @classmethod
    def under(cls, data_dir: Path, read_layer: LayerReader | None = None) -> ArtifactBuilder:
        return cls(ArtifactStore.under(data_dir), data_dir / "kubernetes" / "build", read_layer)

    def known(self, spec: FunctionSpec) -> str | None:
        """The digest an earlier build of the same inputs produced (previews build nothing)."""
        return self.store.built(build_id(spec))

    def build(self, spec: FunctionSpec, progress: ProgressSink) -> str:
        """The artifact's digest, built if needed, owned by the function."""
        digest = self.known(spec)
        if digest is not None:
            self.store.own(spec.key, digest)  # owned first: a concurrent prune keeps it
            if self.store.path(digest).is_file():
                progress(f"artifact {digest[:12]}: already built for this code, nothing to do")
                return digest
        self.build_root.mkdir(parents=True, exist_ok=True)
        request = {
            "spec": spec.to_data(),
            "build_root": str(self.build_root),
            "store_root": str(self.store.root),
            "build_id": build_id(spec),
        }
        if not spec.config.layers:
            return str(run_child(request, progress)["digest"])
        layers_dir = Path(tempfile.mkdtemp(prefix=".layers-", dir=self.build_root))
        try:
            self.write_layers(spec, layers_dir)
            return str(run_child({**request, "layers_dir": str(layers_dir)}, progress)["digest"])
        finally:
            shutil.rmtree(layers_dir, ignore_errors=True)

    def write_layers(self, spec: FunctionSpec, dest: Path) -> None:
        """Each layer's package text for the child, which reads no store (the child checks
        each against its digest)."""
        if self.read_layer is None:
            raise TargetError("this Kubernetes target was given no way to read layer content")
        for ref in spec.config.layers:
            if not ref.resolved:
                raise TargetError(f"layer {ref.label} has no content reference")
            (dest / ref.sha256).write_text(self.read_layer(ref.location), encoding="utf-8")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CHILD_ENV_DROPPED)}
    if "LAMBDACLONE_TOOLS_CACHE" in os.environ:
        env["LAMBDACLONE_TOOLS_CACHE"] = os.environ["LAMBDACLONE_TOOLS_CACHE"]
    source_root = str(Path(engine.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    return env


def run_child(request: dict[str, Any], progress: ProgressSink) -> dict[str, Any]:
    """Run the build child; its progress lines are relayed, its error re-raised as ours."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.artifact_build"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=child_env(),
        )
        timer = threading.Timer(BUILD_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
            outcome = _relay(proc.stdout, progress)
            code = proc.wait()
        finally:
            timer.cancel()
        stderr.seek(0)
        tail = stderr.read()[-STDERR_TAIL:]
    if "result" in outcome:
        result: dict[str, Any] = outcome["result"]
        return result
    raise _error(outcome.get("error"), code, tail)


def _relay(stdout: Any, progress: ProgressSink) -> dict[str, Any]:
    last: deque[dict[str, Any]] = deque(maxlen=1)
    for line in stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and "progress" in message:
            progress(str(message["progress"]))
        elif isinstance(message, dict):
            last.append(message)
    return last[0] if last else {}


def _error(error: object, exit_code: int, stderr_tail: str) -> Exception:
    if not isinstance(error, dict):
        output = stderr_tail.strip()
        return TargetError(
            f"the artifact build exited with {exit_code}:\n{output}".rstrip(),
            detail={"build_output": output},
        )
    message, detail = str(error.get("message", "")), error.get("detail") or {}
    if error.get("type") in {"PackageRefused", "PackageTooLarge"}:
        return PackageRefused(message, code=str(error.get("code", "invalid_package")))
    cls = ERRORS.get(str(error.get("type")), TargetError)
    return cls(message, detail=detail if isinstance(detail, dict) else None)


class FunctionArtifacts:
    """The target's side of artifacts: build (apply) or look up (preview) a function's, and
    let the store drop what a function no longer runs."""

    def __init__(self, builder: ArtifactBuilder, signer: Signer | None) -> None:
        self.builder = builder
        self.signer = signer

    def prepare(
        self, spec: FunctionSpec, cfg: ClusterConfig, progress: ProgressSink | None
    ) -> PodArtifact | None:
        """None for a function served from a ConfigMap or S3 object; `progress` None: a
        preview, which builds nothing (an unbuilt artifact shows as a pending digest)."""
        if not needs_artifact(spec):
            return None
        check_servable(cfg)
        if self.signer is None:
            raise TargetError("this Kubernetes target was given no key to sign pull tokens with")
        token = pull_token(self.signer, spec.key)
        if progress is None:
            digest = self.builder.known(spec) or f"pending-{build_id(spec)[:16]}"
            return PodArtifact(digest, token)
        return PodArtifact(self.builder.build(spec, progress), token)

    def settle(self, spec: FunctionSpec, artifact: PodArtifact | None) -> None:
        """After a rollout: the function's earlier artifacts are no longer fetched."""
        if artifact is None:
            self.builder.store.release(spec.key)
        else:
            self.builder.store.keep_only(spec.key, artifact.digest)

    def release(self, key: str) -> None:
        self.builder.store.release(key)


def check_servable(cfg: ClusterConfig) -> None:
    """Artifacts need the control plane's URL as pods see it and the init container's image."""
    if not cfg.artifact_url or not cfg.artifact_image:
        missing = "LAMBDACLONE_K8S_ARTIFACT_URL" if not cfg.artifact_url else "runtime-provided"
        raise NotSupported(
            "packages and Go lambda.Start programs need built artifacts on kubernetes: "
            f"{missing} is not configured (docs/packages.md)",
            detail={"target": "kubernetes", "missing": missing},
        )
