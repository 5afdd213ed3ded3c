"""A deployment's /opt on the local target: its layers, extracted in order.

Each layer version is unpacked once, by its content digest, into `layers/<sha256>/` (checked
file by file against its manifest, as a function package is). A deployment's tree,
`functions/<key>/opt-<spec_hash[:12]>/`, is then made of hard links to those files, layer by
layer, so a later layer's file replaces an earlier one's (Lambda's order). Both are built in a
temporary directory and renamed into place, so a crash leaves no half tree, and a tree that
exists is complete. The sandbox binds the tree read-only at /opt (`sandbox_argv.OPT_DIR`); the
worker's environment points the runtimes at it as Lambda does (`engine.layer_env.opt_env`,
the definition the Kubernetes target uses too).

`opt_tree` is the one entry point a target needs (the Kubernetes target can ship what it
returns); `with_layers` applies it to a local worker's `Launch`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import secrets
import shutil
from pathlib import Path
from typing import Protocol

from engine import package
from engine.errors import TargetError
from engine.layer_env import opt_env
from engine.layers import LayerRef
from engine.local import build
from engine.local.launch import Launch
from engine.local.layout import DEPLOYMENT_HASH_CHARS, Layout
from engine.local.sandbox_argv import OPT_DIR
from engine.settings import Settings
from engine.spec import FunctionSpec, sha256_text

__all__ = [
    "LAYERS_DIR",
    "OPT_PREFIX",
    "LayerSource",
    "StoreSource",
    "opt_env",  # engine.layer_env's: one definition for both targets
    "opt_tree",
    "with_layers",
]

LAYERS_DIR = "layers"
OPT_PREFIX = "opt-"


class LayerSource(Protocol):
    def archive(self, ref: LayerRef) -> str:
        """The layer version's package text (`engine.package` encoding)."""
        ...


def opt_tree(layout: Layout, spec: FunctionSpec, source: LayerSource) -> Path | None:
    """The deployment's /opt tree, built if missing (None: the function has no layers)."""
    if not spec.config.layers:
        return None
    dest = layout.function_dir(spec.key) / f"{OPT_PREFIX}{spec.spec_hash[:DEPLOYMENT_HASH_CHARS]}"
    if dest.is_dir():
        return dest
    sources = [_materialised(layout, ref, source) for ref in spec.config.layers]
    tmp = _fresh(dest)
    try:
        for layer_dir in sources:
            _link_tree(layer_dir, tmp)
        _install(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def with_layers(launch: Launch, spec: FunctionSpec, layout: Layout, settings: Settings) -> Launch:
    """`launch` with the function's /opt: bound read-only in its sandbox (or, unsandboxed,
    its host path in the environment); never a pre-started spare, whose mounts are fixed."""
    tree = opt_tree(layout, spec, StoreSource(settings))
    if tree is None:
        return launch
    box = launch.box
    root = OPT_DIR if box is not None else str(tree)
    if box is not None:
        box = dataclasses.replace(box, opt_dir=tree)
    env = opt_env(spec, dict(launch.env), root)
    return dataclasses.replace(launch, env=env, box=box, use_spare=False)


class StoreSource:
    """Layer content from the configured store (the worker thread's own connection)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def archive(self, ref: LayerRef) -> str:
        from engine.layer_source import read_layer  # noqa: PLC0415 - only on a cache miss

        # A thread of its own: this may run where an event loop is already running.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(read_layer, self.settings, ref.location).result()


def _materialised(layout: Layout, ref: LayerRef, source: LayerSource) -> Path:
    if not ref.resolved:
        raise TargetError(
            f"layer {ref.label} has no content reference", detail={"layer": ref.label}
        )
    dest = layout.root / LAYERS_DIR / ref.sha256
    if dest.is_dir():
        return dest
    code = source.archive(ref)
    if not package.is_package(code) or sha256_text(package.identity(code)) != ref.sha256:
        why = f"layer {ref.label}'s stored content does not match its digest"
        raise TargetError(why, detail={"layer": ref.label})
    tmp = _fresh(dest)
    try:
        build.unpack(package.decode(code), tmp)
        _install(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link every file of `source` into `dest`, replacing what is there (a later layer
    wins, a file over a directory too); symlinks are made anew."""
    for root, dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        here = dest / rel
        for name in dirs:
            target = here / name
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            if (Path(root) / name).is_symlink():
                files.append(name)  # os.walk lists a symlink to a directory as a directory
                continue
            target.mkdir(mode=0o755, exist_ok=True)
            target.chmod(0o755)
        for name in files:
            _replace(Path(root) / name, here / name)


def _replace(origin: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    if origin.is_symlink():
        target.symlink_to(origin.readlink())
        return
    try:
        target.hardlink_to(origin)
    except OSError:
        shutil.copy2(origin, target)  # another file system


def _fresh(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir(mode=0o755)
    tmp.chmod(0o755)
    return tmp


def _install(tmp: Path, dest: Path) -> None:
    """Rename into place; a concurrent builder that got there first made the same tree."""
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
