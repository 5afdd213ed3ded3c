"""Build one function's deployment directory and pack it as an artifact (ADR 0048).

The Kubernetes target's build step, run as a child process of the control plane
(`python -m engine.artifact_build`, see `engine/kubernetes/builds.py`): it runs exactly the
local target's code — `engine.local.build.materialise` (unpack the package, install its
`requirements.txt` / `package.json` dependencies with the pinned toolchains, cached per
dependency set) and `ensure_artifact` (the Go build) — then packs the result with
`engine.artifact_tar`. A child process because the two targets never import each other
(pyproject's import contracts): the build is a tool the Kubernetes target runs, as it runs
Pulumi. It also keeps a build's memory and working directory out of the control plane.

A function with layers also gets its merged /opt, built by the local target's own
`engine.local.layers.opt_tree` from the layer versions the control plane read for it (the child
is given no store credentials: it runs pip and npm on the user's behalf). The artifact then holds
two trees, `task/` and `opt/` (`engine.artifact_tar.TASK_TREE`, `OPT_TREE`).

Protocol: one JSON object on stdin (`spec`: the spec codec's data, `build_root`, `store_root`,
`build_id`, and with layers `layers_dir`: each version's package text as `<sha256>`); JSON
lines on stdout: `{"progress": line}`…, then `{"result": {digest, size, bootstrap}}` or
`{"error": {type, message, code, detail}}`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine.artifact_tar import BUILD_DIR, OPT_TREE, POD_OPT_DIR, TASK_TREE, ArtifactStore
from engine.errors import LambdaCloneError, TargetError
from engine.layers import LayerRef
from engine.local import build, dependencies, layers
from engine.local.layout import Layout
from engine.local.toolchains import Toolchains
from engine.spec import FunctionSpec
from runtimes.registry import driver

POD_CODE_DIR = "/var/task"
"""Where the pods unpack the artifact (`engine.kubernetes.names.CODE_DIR`)."""
COMPILE_TIMEOUT_S = 300.0


def _say(**message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class LayerFiles:
    """Layer content the control plane wrote for this build, one file per digest."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def archive(self, ref: LayerRef) -> str:
        return (self.root / ref.sha256).read_text(encoding="utf-8")


def build_artifact(
    spec: FunctionSpec,
    layout: Layout,
    store: ArtifactStore,
    build_id: str,
    layer_files: LayerFiles | None = None,
) -> dict[str, Any]:
    """The deployment directory the local target would run (and its /opt), packed and owned
    by `spec.key`."""

    def progress(line: str) -> None:
        _say(progress=line)

    toolchain = Toolchains().get(spec.runtime, spec.runtime_version)
    code_dir, filename = build.materialise(layout, spec, progress, toolchain)
    runtime = driver(spec.runtime)
    built = None
    if runtime.builds:
        progress(f"building the {spec.runtime} program ({toolchain.version})")
        built = build.ensure_artifact(layout, spec, code_dir, toolchain)
    opt = layers.opt_tree(layout, spec, layer_files) if layer_files is not None else None
    with tempfile.TemporaryDirectory(dir=layout.root) as stage_dir:
        packed_root = Path(stage_dir) / "artifact"
        stage = packed_root / TASK_TREE if opt is not None else packed_root
        stage.mkdir(parents=True)
        dependencies.link_into(code_dir, stage)
        if built is not None:
            if (stage / BUILD_DIR).exists():
                raise TargetError(
                    f"a {spec.runtime} package may not hold {BUILD_DIR}/ (the build's)"
                )
            dependencies.link_into(built, stage / BUILD_DIR)
        if opt is not None:
            dependencies.link_into(opt, packed_root / OPT_TREE)
        if spec.runtime == "python":
            compile_python(stage, toolchain.executable)
            if opt is not None:
                compile_python(packed_root / OPT_TREE, toolchain.executable, POD_OPT_DIR)
        packed = store.add(packed_root, spec.key, build_id)
    shutil.rmtree(code_dir, ignore_errors=True)  # the archive is the deployment now
    if opt is not None:
        shutil.rmtree(opt, ignore_errors=True)
    progress(f"artifact {packed.digest[:12]}: {packed.size} bytes ({filename})")
    bootstrap = built is not None and runtime.runtime_api_bootstrap(built, spec.code) is not None
    return {"digest": packed.digest, "size": packed.size, "bootstrap": bootstrap}


def compile_python(stage: Path, python: str, pod_dir: str = POD_CODE_DIR) -> None:
    """Byte-compile the tree with the function's own CPython as *unchecked-hash* pycs, named
    as the pod sees them (`/var/task/...`, a layer's below `POD_OPT_DIR`): the pip-installed
    pycs record their sources' install times, which differ between builds (no stable digest)
    and, the archive's times being fixed, would be stale in the pod anyway. A file that does
    not compile is left to the wrapper, which reports it when it loads."""
    for cache in sorted(stage.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    argv = [
        python,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(stage),
        "-p",
        pod_dir,
        str(stage),
    ]
    subprocess.run(argv, capture_output=True, check=False, timeout=COMPILE_TIMEOUT_S)


def main() -> int:
    request = json.load(sys.stdin)
    try:
        spec = FunctionSpec.from_data(request["spec"])
        result = build_artifact(
            spec,
            Layout(Path(request["build_root"])),
            ArtifactStore(Path(request["store_root"])),
            str(request["build_id"]),
            LayerFiles(Path(request["layers_dir"])) if request.get("layers_dir") else None,
        )
    except LambdaCloneError as exc:
        error = {"type": type(exc).__name__, "message": exc.message, "code": exc.code}
        _say(error={**error, "detail": exc.detail})
        return 1
    _say(result=result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
