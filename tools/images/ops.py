"""The images after the build: push them to a registry (skopeo), run one with runc, and
smoke-test the runtime images. Kept apart from build.py so that changing these never changes
the builder's digest (a cache key of every layer)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
from build import REPO, RUN_AS, die, ensure_debian, images_cache, load_recipes, log

# --- push ------------------------------------------------------------------------------------


def cmd_push(args: argparse.Namespace) -> int:
    ensure_debian("skopeo", "skopeo")
    layout = Path(args.layout) if args.layout else images_cache() / "oci"
    refs = oci.Layout(layout).read_index()
    registry = args.registry.rstrip("/")
    local = re.match(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$", registry) is not None
    tls = args.tls_verify if args.tls_verify is not None else not local
    lock_path = Path(args.lock) if args.lock else images_cache() / "images.lock.json"
    pushed_refs: dict[str, str] = {}
    for recipe in load_recipes(args.images):
        if recipe.ref not in refs:
            die(f"{recipe.ref} is not in {layout}; run `make images` first")
        # a tag per content: ECR's immutable tags refuse a moved (or re-pushed) tag
        digest = refs[recipe.ref].digest
        tag = f"{recipe.tag}-{digest.removeprefix('sha256:')[:12]}"
        dest = f"docker://{registry}/{recipe.repository}:{tag}"
        if _already_pushed(dest, tls, args):
            pushed_refs[f"{recipe.image}:{recipe.tag}"] = f"{registry}/{recipe.repository}@{digest}"
            print(f"{dest.removeprefix('docker://')}  already there")
            continue
        argv = [
            "skopeo",
            "copy",
            "--quiet",
            "--preserve-digests",
            f"--dest-tls-verify={'true' if tls else 'false'}",
        ]
        if args.creds:
            argv.append(f"--dest-creds={args.creds}")
        if args.authfile:
            argv.append(f"--dest-authfile={args.authfile}")
        with tempfile.NamedTemporaryFile() as digestfile:
            argv += ["--digestfile", digestfile.name, f"oci:{layout}:{recipe.ref}", dest]
            subprocess.run(argv, check=True)
            pushed = Path(digestfile.name).read_text().strip()
        same = "" if pushed == refs[recipe.ref].digest else "  (DIGEST CHANGED)"
        print(f"{registry}/{recipe.repository}:{tag}  {pushed}{same}")
        pushed_refs[f"{recipe.image}:{recipe.tag}"] = f"{registry}/{recipe.repository}@{pushed}"
    write_lock(lock_path, registry, pushed_refs)
    print(f"images lock: {lock_path}")
    return 0


def _already_pushed(dest: str, tls: bool, args: argparse.Namespace) -> bool:
    inspect = ["skopeo", "inspect", "--raw", f"--tls-verify={'true' if tls else 'false'}"]
    if args.creds:
        inspect.append(f"--creds={args.creds}")
    if args.authfile:
        inspect.append(f"--authfile={args.authfile}")
    done = subprocess.run([*inspect, dest], capture_output=True, check=False)
    return done.returncode == 0


def write_lock(path: Path, registry: str, pushed: dict[str, str]) -> None:
    """The images lock: `<image>:<tag>` → `<registry>/<repository>@sha256:<digest>`, what the
    control plane's catalog names pods' images by (`LAMBDACLONE_IMAGE_REGISTRY=<path>`). A
    push of some images to the same registry keeps the others' entries."""
    images: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        old = json.loads(path.read_text())
        if old["registry"] == registry:
            images = dict(old["images"])
    images.update(pushed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = {"registry": registry, "images": dict(sorted(images.items()))}
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(lock, indent=1) + "\n")
    scratch.replace(path)


# --- run with runc ---------------------------------------------------------------------------


def runc_config(
    image_cfg: dict[str, Any],
    rootfs: str,
    binds: list[tuple[str, str]],
    env: dict[str, str],
    tmpfs: tuple[str, ...],
) -> dict[str, Any]:
    cfg = image_cfg["config"]
    uid, _, gid = cfg.get("User", RUN_AS).partition(":")
    merged_env = dict(e.split("=", 1) for e in cfg.get("Env", []))
    merged_env.update(env)
    argv = [*cfg.get("Entrypoint", []), *cfg.get("Cmd", [])]
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        },
        {
            "destination": "/dev/shm",  # noqa: S108 - inside the container
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/tmp",  # noqa: S108 - inside the container
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777", "size=512m"],
        },
    ]
    for path in tmpfs:
        mounts.append(
            {
                "destination": path,
                "type": "tmpfs",
                "source": "tmpfs",
                # runc gives the mount the image directory's mode: own it as the user.
                "options": ["nosuid", "nodev", f"uid={uid}", f"gid={gid or uid}", "size=512m"],
            }
        )
    for src, spec in binds:
        ro = spec.endswith(":ro")
        mounts.append(
            {
                "destination": spec.removesuffix(":ro"),
                "type": "bind",
                "source": src,
                "options": ["rbind", "ro" if ro else "rw"],
            }
        )
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": int(uid), "gid": int(gid or uid)},
            "args": argv,
            "env": [f"{k}={v}" for k, v in merged_env.items()],
            "cwd": cfg.get("WorkingDir") or "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": "lambdaclone",
        "mounts": mounts,
        "linux": {
            # No network namespace: the container shares the host's, so curl reaches it.
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def unpack(layout: oci.Layout, ref: str, bundle: Path) -> dict[str, Any]:
    refs = layout.read_index()
    if ref not in refs:
        die(f"{ref} is not in {layout.root}; run `make images`")
    doc = json.loads(layout.blob_path(refs[ref].digest).read_bytes())
    image_cfg: dict[str, Any] = json.loads(layout.blob_path(doc["config"]["digest"]).read_bytes())
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    for layer in doc["layers"]:
        with tarfile.open(layout.blob_path(layer["digest"]), "r:gz") as tar:
            tar.extractall(rootfs, numeric_owner=True, filter="fully_trusted")  # noqa: S202
    return image_cfg


@contextlib.contextmanager
def running_container(
    ref: str,
    binds: list[tuple[str, str]],
    env: dict[str, str],
    *,
    layout: oci.Layout,
    log_path: Path,
    tmpfs: tuple[str, ...] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    ensure_debian("runc", "runc")
    with tempfile.TemporaryDirectory(prefix="lc-runc-") as tmp:
        bundle = Path(tmp)
        image_cfg = unpack(layout, ref, bundle)
        config = runc_config(image_cfg, "rootfs", binds, env, tmpfs)
        (bundle / "config.json").write_text(json.dumps(config, indent=1))
        name = f"lc-{ref.replace('.', '-')}-{os.getpid()}"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                ["runc", "run", "--bundle", str(bundle), name],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            yield proc
        finally:
            subprocess.run(["runc", "kill", name, "KILL"], check=False, capture_output=True)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            subprocess.run(["runc", "delete", "--force", name], check=False, capture_output=True)


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cmd_run(args: argparse.Namespace) -> int:
    recipe = load_recipes([args.image])[0]
    layout = oci.Layout(Path(args.layout) if args.layout else images_cache() / "oci")
    binds = [(b.split(":", 1)[0], b.split(":", 1)[1]) for b in args.bind]
    env = dict(e.split("=", 1) for e in args.env)
    log_path = Path(tempfile.gettempdir(), f"lc-run-{recipe.ref}.log")
    with running_container(recipe.ref, binds, env, layout=layout, log_path=log_path):
        log(f"running {recipe.ref} (log {log_path}); Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
    return 0


def cmd_smoke(args: argparse.Namespace) -> int:
    layout = oci.Layout(Path(args.layout) if args.layout else images_cache() / "oci")
    failed = 0
    for recipe in load_recipes(args.images):
        smoke = recipe.smoke
        if not smoke:
            continue
        binds = [(str(REPO / src), dst) for src, dst in smoke.get("binds", {}).items()]
        url = smoke["url"]
        log_path = Path(tempfile.gettempdir(), f"lc-smoke-{recipe.ref}.log")
        env, tmpfs = smoke.get("env", {}), tuple(smoke.get("tmpfs", ()))
        with running_container(
            recipe.ref, binds, env, layout=layout, log_path=log_path, tmpfs=tmpfs
        ) as proc:
            start = time.monotonic()
            status, body, deadline = 0, b"", start + float(smoke.get("timeout_s", 60))
            while time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(OSError):
                    status, body = get(url)
                    break  # the first answer counts: the wrappers listen once loaded
                time.sleep(0.2)
            ready = time.monotonic() - start
        ok = status == smoke.get("status", 200) and smoke.get("expect", "").encode() in body
        failed += not ok
        print(
            f"{recipe.image:22} {'ok  ' if ok else 'FAIL'} {status} after {ready:4.1f}s  "
            f"{body.decode(errors='replace').strip()[:160]}"
        )
        if not ok:
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
    return 1 if failed else 0
