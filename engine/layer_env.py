"""The environment Lambda gives a function's layers, for every target: one definition.

A deployment's layers are merged into one tree (Lambda's `/opt`); the runtimes find it only
through the paths below. The local sandbox binds the tree at `/opt`; a Kubernetes pod mounts it
where its image leaves room (`engine.kubernetes.layer_pod`). Both pass that root here, so the
two targets give a function the same paths, in the same order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from engine.spec import FunctionSpec


def layer_paths(spec: FunctionSpec, root: str) -> dict[str, list[str]]:
    """The entries each variable gets: bin and lib for every runtime, python's `python/` and
    its site-packages, node's `nodejs/node_modules` and `nodejs/node<major>/node_modules`."""
    major = spec.runtime_version.split(".")[0]
    paths = {
        "PATH": [f"{root}/bin"],
        "LD_LIBRARY_PATH": [f"{root}/lib"],
    }
    if spec.runtime == "python":
        site = f"{root}/python/lib/python{spec.runtime_version}/site-packages"
        paths["PYTHONPATH"] = [site, f"{root}/python"]
    if spec.runtime == "node":
        node = [f"{root}/nodejs/node{major}/node_modules", f"{root}/nodejs/node_modules"]
        paths["NODE_PATH"] = node
    return paths


def opt_env(spec: FunctionSpec, env: Mapping[str, str], root: str) -> dict[str, str]:
    """`env` with the layer paths appended to what it already has (none: only the layers')."""
    merged = dict(env)
    for name, extra in layer_paths(spec, root).items():
        merged[name] = os.pathsep.join(
            [p for p in env.get(name, "").split(os.pathsep) if p] + extra
        )
    return merged
