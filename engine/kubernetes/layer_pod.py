"""Pure builders of what a pod of a function with layers adds (ADR 0048, 0050): its artifact
holds two trees (`task/`, `opt/`: `engine.artifact_build`); the function's container mounts the
code volume's `task/` read-only at /var/task as before and its `opt/` read-only at
`POD_OPT_DIR`, and its environment gets the paths the local sandbox gives a function's layers
(`engine.layer_env`: one definition for both targets). A function without layers is untouched.

The layers' tree is not at /opt: the runtime images keep their interpreter and wrapper there
(`/opt/python`, `/opt/node`, `/opt/lambdaclone`), which a volume would hide. The paths the
runtimes search (PYTHONPATH, NODE_PATH, PATH, LD_LIBRARY_PATH) name `POD_OPT_DIR` instead.
"""

from __future__ import annotations

import functools
import tomllib
from typing import Any

from engine.artifact_tar import OPT_TREE, POD_OPT_DIR, TASK_TREE
from engine.kubernetes import names
from engine.layer_env import layer_paths, opt_env
from engine.spec import FunctionSpec
from runtimes.driver import RUNTIMES_DIR

Manifest = dict[str, Any]

CODE_VOLUME = "code"


@functools.cache
def image_path(runtime: str) -> str | None:
    """The `PATH` the runtime's image declares (`runtimes/<runtime>/image.toml`, the image's
    one definition): a container's `env` replaces the image's value, so the layers' `bin` is
    appended to it. None: the image declares none (PATH is then left to the image)."""
    manifest = RUNTIMES_DIR / runtime / "image.toml"
    if not manifest.is_file():
        return None
    with manifest.open("rb") as file:
        value = tomllib.load(file).get("config", {}).get("env", {}).get("PATH")
    return value if isinstance(value, str) else None


def layer_env(spec: FunctionSpec, env: list[Manifest], base_path: str | None) -> list[Manifest]:
    """`env` (the container's entries) with the layer paths: values in place, new names last.
    Users may not set these names (they are reserved), so only the platform's values merge."""
    plain = {e["name"]: e["value"] for e in env if "value" in e}
    base = {"PATH": base_path, **plain} if base_path else plain
    wanted = [n for n in layer_paths(spec, POD_OPT_DIR) if n != "PATH" or "PATH" in base]
    merged = opt_env(spec, base, POD_OPT_DIR)
    out = [
        {"name": e["name"], "value": merged[e["name"]]} if e["name"] in wanted else e for e in env
    ]
    present = {e["name"] for e in env}
    return out + [{"name": n, "value": merged[n]} for n in wanted if n not in present]


def layer_mounts(mounts: list[Manifest]) -> list[Manifest]:
    """The code volume's two trees, both read-only, in place of the whole volume."""
    task = {
        "name": CODE_VOLUME,
        "mountPath": names.CODE_DIR,
        "subPath": TASK_TREE,
        "readOnly": True,
    }
    opt = {"name": CODE_VOLUME, "mountPath": POD_OPT_DIR, "subPath": OPT_TREE, "readOnly": True}
    kept = [m for m in mounts if m["name"] != CODE_VOLUME]
    return [task, opt, *kept]


def with_layers(spec: FunctionSpec, container: Manifest, image_runtime: str) -> Manifest:
    """The function's container seeing its layers (`image_runtime`: whose image it runs)."""
    if not spec.config.layers:
        return container
    env = layer_env(spec, container["env"], image_path(image_runtime))
    return {**container, "env": env, "volumeMounts": layer_mounts(container["volumeMounts"])}
