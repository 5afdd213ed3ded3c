#!/usr/bin/env python3
"""Builds lambdaclone's container images reproducibly, without a container engine.

    build.py build [IMAGE ...]        build (or reuse) images into the OCI layout; prints digests
    build.py push --registry HOST     copy them to HOST/lambdaclone/<image>:<tag> with skopeo
    build.py run IMAGE [--bind ...]   unpack an image and run it with runc (host network)
    build.py smoke [IMAGE ...]        run each runtime image on its default code and curl it
    build.py list                     the recipes and the layout's references

Recipes are TOML files: runtimes/<lang>/image.toml and tools/images/control-plane.toml. Each
image is a Debian base layer (mmdebstrap, extract variant), then the recipe's layers. Every
layer is cached by the sha256 of its inputs (the recipe's layer table, the content of its
source files, this builder's own code and SOURCE_DATE_EPOCH), so an unchanged layer is never
rebuilt; identical inputs give identical bytes, hence identical manifest digests.

Stdlib only (Python >= 3.11), so it runs before the project's virtualenv exists. The base
needs root (mmdebstrap), Debian's dpkg-deb; push needs skopeo; run/smoke need runc.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import oci

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NAMESPACE = "lambdaclone"
DEFAULT_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z, when versions.env pins none
RUN_AS = "65532:65532"
BUILDER_FILES = (HERE / "build.py", HERE / "oci.py")  # not ops.py: it shapes no image
PY_EXCLUDES = ("*/__pycache__", "*.pyc")


def log(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    raise SystemExit(f"[images] error: {msg}")


# --- places ----------------------------------------------------------------------------------


def tools_cache() -> Path:
    explicit = os.environ.get("LAMBDACLONE_TOOLS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lambdaclone" / "tools"


def images_cache() -> Path:
    explicit = os.environ.get("LAMBDACLONE_IMAGES_CACHE")
    if explicit:
        return Path(explicit)
    return tools_cache().parent / "images"


def pinned_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in (REPO / "tools" / "versions.env").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            versions[name.strip()] = value.strip()
    return versions


def epoch() -> int:
    """SOURCE_DATE_EPOCH from the environment, else the pin in tools/versions.env."""
    pinned = pinned_versions().get("IMAGES_SOURCE_DATE_EPOCH", DEFAULT_EPOCH)
    return int(os.environ.get("SOURCE_DATE_EPOCH") or pinned)


def ensure_debian(command: str, package: str) -> None:
    """Installs a missing Debian package when running as root (as `make tools` does)."""
    if shutil.which(command) is not None:
        return
    if os.geteuid() != 0:
        die(f"{command} is missing: apt-get install {package}")
    log(f"installing Debian's {package} ...")
    apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, check=False, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(apt, check=True, env=env)


def builder_digest() -> str:
    digest = hashlib.sha256()
    for path in BUILDER_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key_of(*parts: Any) -> str:
    return hashlib.sha256(oci.canonical_json(list(parts))).hexdigest()


# --- recipes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    path: Path
    image: str
    tag: str
    base: dict[str, Any]
    layers: list[dict[str, Any]]
    config: dict[str, Any]
    smoke: dict[str, Any]

    @property
    def ref(self) -> str:
        """The reference inside the OCI layout (`oci:<layout>:<ref>`)."""
        return f"{self.image}-{self.tag}"

    @property
    def repository(self) -> str:
        return f"{NAMESPACE}/{self.image}"


def recipe_paths() -> list[Path]:
    return sorted(REPO.glob("runtimes/*/image.toml")) + sorted(HERE.glob("*.toml"))


def load_recipe(path: Path) -> Recipe:
    doc = tomllib.loads(path.read_text())
    return Recipe(
        path=path,
        image=doc["image"],
        tag=str(doc["tag"]),
        base=doc["base"],
        layers=doc.get("layer", []),
        config=doc.get("config", {}),
        smoke=doc.get("smoke", {}),
    )


def load_recipes(names: list[str]) -> list[Recipe]:
    recipes = [load_recipe(p) for p in recipe_paths()]
    if not names:
        return recipes
    chosen = [r for r in recipes if r.image in names or r.ref in names]
    unknown = set(names) - {r.image for r in chosen} - {r.ref for r in chosen}
    if unknown:
        die(f"unknown image(s) {sorted(unknown)}; known: {[r.image for r in recipes]}")
    return chosen


# --- sources ---------------------------------------------------------------------------------


RUNTIME_ALIASES = {"go": ("go", "golang"), "golang": ("go", "golang"), "node": ("node", "nodejs")}


@dataclass(frozen=True)
class Runtime:
    language: str
    version: str
    root: Path
    executable: Path
    info: dict[str, Any]


def find_runtime(spec: str) -> Runtime:
    """`python/3.12` -> the tool cache's runtimes/python-3.12*/ with its runtime.json."""
    language, _, version = spec.partition("/")
    base = tools_cache() / "runtimes"
    names = RUNTIME_ALIASES.get(language, (language,))
    found = []
    metas = sorted(m for n in names for m in base.glob(f"{n}-{version}*/runtime.json"))
    for meta in metas:
        info = json.loads(meta.read_text())
        exact = str(info.get("version", ""))
        if info.get("language") in names and (exact == version or exact.startswith(version + ".")):
            found.append((meta.parent, info))
    if len(found) != 1:
        where = [str(p) for p, _ in found] or "none"
        die(
            f"need exactly one {language} {version} runtime in {base} (found {where}); "
            "the runtimes bootstrap step provides it"
        )
    root, info = found[0]
    root = root.resolve()
    exe = Path(info["executable"])
    exe = exe if exe.is_absolute() else root / exe
    return Runtime(language, str(info["version"]), root, exe, info)


def tool_bin(name: str) -> Path:
    versions = pinned_versions()
    version = versions.get(name.upper().replace("-", "_") + "_VERSION")
    if version is None:
        die(f"no {name} version pinned in tools/versions.env")
    path = tools_cache() / f"{name}-{version}" / "bin"
    if not (path.parent / ".complete").is_file():
        die(f"{name} {version} is not built in {path.parent}; run `make tools`")
    return path


@functools.cache
def tree_digest(root: Path, exclude: tuple[str, ...] = ()) -> str:
    """Content digest of a directory: relative paths, kinds, exec bits, bytes, link targets."""
    tree = oci.Tree()
    tree.add_dir(root, "", exclude)
    return tree_entries_digest(tree)


def tree_entries_digest(tree: oci.Tree) -> str:
    digest = hashlib.sha256()
    for name in sorted(tree.entries):
        entry = tree.entries[name]
        digest.update(f"{name}\0{entry.kind}\0{entry.mode:o}\0{entry.target}\0".encode())
        if entry.data is not None:
            digest.update(hashlib.sha256(entry.data).digest())
        elif entry.kind == "file" and entry.source is not None:
            digest.update(bytes.fromhex(oci.sha256_file(entry.source)))
    return digest.hexdigest()


def repo_files(mapping: dict[str, str], target: str) -> oci.Tree:
    """`{"runtimes/python/*.py": "runtimes/python/"}`: each glob (relative to the repository)
    to a path under `target`; a destination ending in "/" is a directory (names kept), `**`
    globs keep the matched path relative to the glob's fixed prefix."""
    tree = oci.Tree()
    for pattern, dest in sorted(mapping.items()):
        matches = sorted(p.relative_to(REPO).as_posix() for p in REPO.glob(pattern))
        matches = [m for m in matches if not oci.excluded(m, PY_EXCLUDES)]
        if not matches:
            die(f"{pattern} matches no file in the repository")
        prefix = pattern.split("*", 1)[0].rsplit("/", 1)[0] if "*" in pattern else ""
        for match in matches:
            src = REPO / match
            if src.is_dir():
                continue
            where = dest if dest.startswith("/") else f"{target}/{dest}"
            if dest.endswith("/"):
                rel = match[len(prefix) + 1 :] if prefix and "**" in pattern else src.name
                path = f"{where}{rel}"
            else:
                path = where
            mode = 0o755 if os.access(src, os.X_OK) else 0o644
            tree.add(path, oci.Entry("file", mode, source=src))
    return tree


# --- the Debian base -------------------------------------------------------------------------

BASE_DROP_PATHS = (
    "dev/*",
    "etc/apt",
    "etc/hostname",
    "etc/resolv.conf",
    "etc/machine-id",
    "etc/cron.daily",
    "etc/logrotate.d",
    "etc/update-motd.d",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/locale",
    "usr/share/man",
    "usr/share/gdb",
    "var/cache/*",
    "var/lib/apt",
    "var/lib/dpkg",
    "var/log/*",
    "run/*",
    "tmp/*",
)

USERS = """root:x:0:0:root:/root:/usr/sbin/nologin
nonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin
"""
GROUPS = """root:x:0:
nonroot:x:65532:
"""
NSSWITCH = """passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
"""


def base_spec(recipe: Recipe) -> dict[str, Any]:
    spec = dict(recipe.base)
    spec.setdefault("suite", "bookworm")
    spec.setdefault(
        "mirrors",
        [
            "deb http://deb.debian.org/debian bookworm main",
            "deb http://deb.debian.org/debian bookworm-updates main",
            "deb http://deb.debian.org/debian-security bookworm-security main",
        ],
    )
    for name in ("packages", "data_packages", "drop_packages", "exclude"):
        spec[name] = sorted(spec.get(name, []))
    return spec


def deb_field(deb: Path, *names: str) -> list[str]:
    fmt = "\x1f".join("${" + n + "}" for n in names)
    out = subprocess.run(
        ["dpkg-deb", "--show", f"--showformat={fmt}", str(deb)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split("\x1f")


def deb_paths(deb: Path) -> list[tuple[str, bool]]:
    """The (path, is_dir) members of a package's data tarball."""
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(proc.stdout)) as tar:
        return [(m.name.removeprefix("./").rstrip("/"), m.isdir()) for m in tar if m.name != "./"]


def merged(path: str) -> str:
    """A package path as it lands in a merged-/usr tree."""
    head, _, rest = path.partition("/")
    return f"usr/{head}/{rest}".rstrip("/") if head in ("bin", "sbin", "lib", "lib64") else path


def build_base_rootfs(spec: dict[str, Any], root: Path) -> list[dict[str, str]]:
    """mmdebstrap's extract variant (no maintainer scripts, no dpkg database) into `root`,
    then the few things those scripts would have done. Returns the packages it contains."""
    run_mmdebstrap(spec, root)
    debs = {
        deb_field(d, "Package")[0]: d for d in sorted(root.glob("var/cache/apt/archives/*.deb"))
    }
    for name in spec["data_packages"]:
        subprocess.run(["dpkg-deb", "--extract", str(debs[name]), str(root)], check=True)
    drop = set(spec["drop_packages"])
    if drop - set(debs):
        die(f"drop_packages {sorted(drop - set(debs))} are not part of the resolved set")
    drop_package_files(
        root, {n: d for n, d in debs.items() if n not in drop}, [debs[n] for n in sorted(drop)]
    )
    kept = {n: d for n, d in debs.items() if n not in drop}
    packages = [package_record(name, kept[name]) for name in sorted(kept)]
    controls = {
        name: subprocess.run(
            ["dpkg-deb", "--field", str(kept[name])], check=True, capture_output=True, text=True
        ).stdout
        for name in sorted(kept)
    }
    for pattern in (*BASE_DROP_PATHS, *spec["exclude"]):
        for found in sorted(root.glob(pattern)):
            if found.is_dir() and not found.is_symlink():
                shutil.rmtree(found)
            else:
                found.unlink()
    _keep_only_copyright(root / "usr/share/doc")
    finish_etc(root)
    # What is in the image, for people and for scanners (the distroless status.d convention).
    status_dir = root / "var/lib/dpkg/status.d"
    status_dir.mkdir(parents=True, exist_ok=True)
    for name, control in controls.items():
        (status_dir / name).write_text("Status: install ok installed\n" + control)
    record = root / "usr/share/lambdaclone"
    record.mkdir(parents=True, exist_ok=True)
    columns = ("package", "version", "architecture", "source", "sha256")
    lines = ["\t".join(columns), *("\t".join(p[k] for k in columns) for p in packages)]
    (record / "debian-packages.tsv").write_text("\n".join(lines) + "\n")
    return packages


def run_mmdebstrap(spec: dict[str, Any], root: Path) -> None:
    if os.geteuid() != 0:
        die("the Debian base is built as root (mmdebstrap --mode=root)")
    ensure_debian("mmdebstrap", "mmdebstrap")
    data = " ".join(spec["data_packages"])
    setup = 'for d in bin sbin lib lib64; do ln -s usr/$d "$1/$d"; mkdir -p "$1/usr/$d"; done'
    # Packages whose only use would be their maintainer scripts are fetched without their
    # dependencies (debconf, perl, openssl): their data is all the image needs.
    download = (
        'cd "$1/var/cache/apt/archives" && APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" '
        f"apt-get -q -o APT::Sandbox::User=root download {data}"
    )
    argv = [
        "mmdebstrap",
        "--variant=extract",
        "--mode=root",
        "--format=directory",
        "--quiet",
        "--include=" + ",".join(spec["packages"]),
        "--setup-hook=" + setup,
        "--skip=cleanup/apt/cache",
        '--aptopt=Acquire::Languages "none"',
    ]
    if data:
        argv.append("--extract-hook=" + download)
    argv += [spec["suite"], str(root), *spec["mirrors"]]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch())}
    subprocess.run(["nice", "-n", "10", *argv], check=True, env=env)


def drop_package_files(root: Path, kept: dict[str, Path], dropped: list[Path]) -> None:
    """Removes what `dropped` packages installed, except paths a kept package also ships."""
    kept_paths = {merged(p) for deb in kept.values() for p, _ in deb_paths(deb)}
    for deb in dropped:
        members = [(merged(p), is_dir) for p, is_dir in deb_paths(deb)]
        for rel, is_dir in members:
            target = root / rel
            if not is_dir and rel not in kept_paths and (target.is_symlink() or target.is_file()):
                target.unlink()
        for rel, is_dir in sorted(members, reverse=True):
            target = root / rel
            if is_dir and rel not in kept_paths and target.is_dir():
                with contextlib.suppress(OSError):
                    target.rmdir()  # only when empty


def package_record(name: str, deb: Path) -> dict[str, str]:
    version, arch, source = deb_field(deb, "Version", "Architecture", "Source")
    return {
        "package": name,
        "version": version,
        "architecture": arch,
        "source": source.split(" ")[0] or name,
        "sha256": oci.sha256_file(deb),
    }


def finish_etc(root: Path) -> None:
    """What base-passwd, base-files, tzdata and ca-certificates' scripts would have written."""
    etc = root / "etc"
    (etc / "passwd").write_text(USERS)
    (etc / "group").write_text(GROUPS)
    (etc / "nsswitch.conf").write_text(NSSWITCH)
    if (root / "usr/share/zoneinfo/Etc/UTC").exists():
        (etc / "timezone").write_text("Etc/UTC\n")
        (etc / "localtime").unlink(missing_ok=True)
        (etc / "localtime").symlink_to("/usr/share/zoneinfo/Etc/UTC")
    certs = sorted((root / "usr/share/ca-certificates").glob("*/*.crt"))
    if certs:
        (etc / "ssl/certs").mkdir(parents=True, exist_ok=True)
        bundle = b"".join(c.read_bytes().rstrip(b"\n") + b"\n" for c in certs)
        (etc / "ssl/certs/ca-certificates.crt").write_bytes(bundle)
    (root / "tmp").chmod(0o1777)
    for link, dest in (("var/run", "/run"), ("var/lock", "/run/lock")):
        path = root / link
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)
        path.symlink_to(dest)


def _keep_only_copyright(doc: Path) -> None:
    if not doc.is_dir():
        return
    for path in sorted(doc.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.rmdir()
        elif path.name != "copyright":
            path.unlink()


# --- layer steps -----------------------------------------------------------------------------


def stage(tree: oci.Tree, root: Path) -> None:
    """Materializes a tree under `root` (hard links where possible) for a build step."""
    for name in sorted(tree.entries):
        entry = tree.entries[name]
        dest = root / name
        if entry.kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "symlink":
            dest.symlink_to(entry.target)
        elif entry.data is not None:
            dest.write_bytes(entry.data)
            dest.chmod(entry.mode)
        else:
            assert entry.source is not None
            try:
                os.link(entry.source, dest)
            except OSError:
                shutil.copy2(entry.source, dest)


def compile_bytecode(python: Runtime, root: Path, dirs: list[str]) -> None:
    """Unchecked-hash .pyc next to every .py under `dirs` (image paths), single process so the
    bytes are stable; the source paths recorded are the image paths, not the staging dir."""
    for opt in root.rglob("*.opt-*.pyc"):
        opt.unlink()
    targets = [str(root / d.strip("/")) for d in dirs if (root / d.strip("/")).exists()]
    if not targets:
        return
    argv = [
        str(python.executable),
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        "1",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(root),
        "-p",
        "/",
        *targets,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": str(epoch())}
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        ["nice", "-n", "10", *argv], check=False, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:  # files that are not Python 3.12 (templates, py2 leftovers)
        log(f"compileall skipped {proc.stdout.count('***')} file(s) that do not compile")


def go_loaderror(go: Runtime, root: Path, target: str) -> None:
    """The wrapper alone is the load-error server; building it also warms a build cache for
    net/http that ships in the image (entrypoint.sh copies it to the writable emptyDir)."""
    lib = root / target.strip("/")
    with tempfile.TemporaryDirectory(prefix="lc-go-") as tmp:
        stub = Path(tmp, "stub")
        stub.mkdir()
        shutil.copy(lib / "main.go", stub / "main.go")
        (stub / "go.mod").write_text("module lambdaclone/function\n\ngo 1.22\n")
        env = {
            "PATH": f"{go.executable.parent}:/usr/bin:/bin",
            "HOME": tmp,
            "GOPATH": f"{tmp}/gopath",
            "GOCACHE": str(lib / "gocache"),
            "CGO_ENABLED": "0",
            "GOTOOLCHAIN": "local",
            "GOPROXY": "off",
            "GOWORK": "off",
            "GOFLAGS": "",
            "GO111MODULE": "on",
        }
        argv = [
            str(go.executable),
            "build",
            "-trimpath",
            "-ldflags=-s -w",
            "-o",
            str(lib / "loaderror"),
            ".",
        ]
        subprocess.run(["nice", "-n", "10", *argv], cwd=stub, env=env, check=True)
    normalize_gocache(lib / "gocache")


def normalize_gocache(cache: Path) -> None:
    """Go stamps each action entry with the time it was written; make it the epoch."""
    stamp = f"{epoch() * 10**9:20d}"
    entry = re.compile(rb"^(v1 [0-9a-f]+ [0-9a-f]+ +\d+ )( *\d+)\n$")
    for path in cache.rglob("*-a"):
        data = path.read_bytes()
        match = entry.match(data)
        if match:
            path.write_bytes(match.group(1) + stamp.encode() + b"\n")
    for name in ("trim.txt", "testexpire.txt"):
        with contextlib.suppress(FileNotFoundError):
            (cache / name).unlink()


def python_requirements(python: Runtime, root: Path, target: str) -> None:
    """The project's locked dependencies (uv.lock, without dev) installed for the runtime's
    Python into `target`, from hashed wheels, with no scripts and no bytecode (compiled later)."""
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    with tempfile.TemporaryDirectory(prefix="lc-req-") as tmp:
        req = Path(tmp, "requirements.txt")
        export = [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-header",
            "--format",
            "requirements-txt",
            "-o",
            str(req),
        ]
        subprocess.run(export, cwd=REPO, check=True, capture_output=True)
        site = root / target.strip("/")
        install = [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python.executable),
            "--target",
            str(site),
            "--no-deps",
            "--require-hashes",
            "--link-mode=copy",
            "--only-binary",
            ":all:",
            "--no-compile",
            "-r",
            str(req),
        ]
        subprocess.run(["nice", "-n", "10", *install], check=True)
    # Console scripts carry the build interpreter's path; the image starts the app itself.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for record in site.glob("*.dist-info/RECORD"):
        lines = [ln for ln in record.read_text().splitlines() if not ln.startswith("../")]
        lines = [ln for ln in lines if not ln.startswith("bin/")]
        record.write_text("\n".join(lines) + "\n")


# --- building --------------------------------------------------------------------------------


@dataclass
class BuildState:
    layout: oci.Layout
    keys: Path
    report: dict[str, Any] = field(default_factory=dict)
    rebuild: bool = False

    def cached(self, key: str) -> dict[str, Any] | None:
        path = self.keys / f"{key}.json"
        if self.rebuild or not path.exists():
            return None
        info: dict[str, Any] = json.loads(path.read_text())
        return info if self.layout.has(info["digest"]) else None

    def remember(self, key: str, layer: oci.Layer, extra: dict[str, Any]) -> dict[str, Any]:
        info = {
            "digest": layer.blob.digest,
            "size": layer.blob.size,
            "diff_id": layer.diff_id,
            "files": layer.files,
            **extra,
        }
        self.keys.mkdir(parents=True, exist_ok=True)
        (self.keys / f"{key}.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        return info


def as_layer(info: dict[str, Any]) -> oci.Layer:
    return oci.Layer(
        oci.Blob(info["digest"], info["size"], oci.LAYER_TYPE), info["diff_id"], info["files"]
    )


def base_layer(state: BuildState, recipe: Recipe) -> dict[str, Any]:
    spec = base_spec(recipe)
    key = key_of("base", spec, builder_digest(), epoch())
    hit = state.cached(key)
    if hit:
        return {**hit, "cached": True}
    log(
        f"base: mmdebstrap {spec['suite']} ({len(spec['packages'])} packages + data-only "
        f"{spec['data_packages']}) ..."
    )
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lc-base-", dir=images_cache()) as tmp:
        root = Path(tmp, "rootfs")
        packages = build_base_rootfs(spec, root)
        tree = oci.Tree()
        tree.add_dir(root, "", keep_owner=True)
        tree.entries.pop("", None)
        layer = state.layout.write_layer(tree, epoch())
    info = state.remember(
        key, layer, {"packages": packages, "seconds": round(time.monotonic() - start, 1)}
    )
    return {**info, "cached": False}


def layer_tree(spec: dict[str, Any], facts: dict[str, Any]) -> oci.Tree:
    """The files of a [[layer]] before its step: a runtime, tools' bin dirs, repository files,
    symbolic links and owned directories, all at or under `target`."""
    target = spec.get("target", "/")
    tree = oci.Tree()
    if "runtime" in spec:
        runtime = find_runtime(spec["runtime"])
        tree.add_dir(runtime.root, target, (*spec.get("exclude", ()), "runtime.json"))
        facts["runtime"] = {"version": runtime.version, "source": runtime.info.get("source", "")}
    for name in spec.get("tools", []):
        bindir = tool_bin(name)
        for binary in sorted(p.name for p in bindir.iterdir()):
            tree.add(f"{target}/{binary}", oci.Entry("file", 0o755, source=bindir / binary))
        facts.setdefault("tools", {})[name] = bindir.parent.name
    if "files" in spec:
        tree.entries.update(repo_files(spec["files"], target).entries)
    for path, link in sorted(spec.get("symlinks", {}).items()):
        tree.add_symlink(path, link)
    owned_dirs(tree, spec)
    tree.entries.pop("", None)
    return tree


def owned_dirs(tree: oci.Tree, spec: dict[str, Any]) -> None:
    for path, owner in sorted(spec.get("dirs", {}).items()):
        uid, _, gid = owner.partition(":")
        tree.add(path, oci.Entry("dir", 0o755, int(uid), int(gid or uid)))


def run_step(spec: dict[str, Any], tree: oci.Tree, root: Path, python: Runtime | None) -> oci.Tree:
    """Stages the tree under `root`, runs the layer's step and bytecode compilation there, and
    returns the staged result as the layer's tree."""
    step, target = spec.get("step", ""), spec.get("target", "/")
    stage(tree, root)
    if step == "go-loaderror":
        go_loaderror(find_runtime(spec["go"]), root, target)
    elif step == "python-requirements":
        assert python is not None, "python-requirements needs `python`"
        python_requirements(python, root, spec["site"])
    elif step:
        die(f"unknown step {step!r}")
    if spec.get("bytecode"):
        assert python is not None, "bytecode needs `python`"
        compile_bytecode(python, root, spec.get("bytecode_dirs", [target]))
    staged = oci.Tree()
    staged.add_dir(root, "")
    staged.entries.pop("", None)
    owned_dirs(staged, spec)
    return staged


def recipe_layer(state: BuildState, recipe: Recipe, spec: dict[str, Any]) -> dict[str, Any]:
    """One [[layer]] of a recipe, cached by the content of all its inputs."""
    facts: dict[str, Any] = {}
    python = find_runtime(spec["python"]) if "python" in spec else None
    if python is not None:
        facts["python"] = {"version": python.version, "tree": tree_digest(python.root)}
    if "go" in spec:
        facts["go"] = tree_digest(find_runtime(spec["go"]).root)
    if spec.get("step") == "python-requirements":
        facts["lock"] = hashlib.sha256((REPO / "uv.lock").read_bytes()).hexdigest()
    tree = layer_tree(spec, facts)
    key = key_of("layer", spec, tree_entries_digest(tree), facts, builder_digest(), epoch())
    hit = state.cached(key)
    if hit:
        return {**hit, "cached": True}
    log(f"{recipe.ref}: layer {spec['name']} ...")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lc-layer-", dir=images_cache()) as tmp:
        if spec.get("step") or spec.get("bytecode"):
            tree = run_step(spec, tree, Path(tmp), python)
        layer = state.layout.write_layer(tree, epoch())
    info = state.remember(key, layer, {**facts, "seconds": round(time.monotonic() - start, 1)})
    return {**info, "cached": False}


def image_config_of(recipe: Recipe) -> dict[str, Any]:
    cfg = recipe.config
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        **cfg.get("env", {}),
    }
    config: dict[str, Any] = {
        "User": cfg.get("user", RUN_AS),
        "Env": [f"{k}={v}" for k, v in env.items()],
        "WorkingDir": cfg.get("workdir", "/"),
        "Labels": {
            "org.opencontainers.image.title": recipe.repository,
            "org.opencontainers.image.version": recipe.tag,
            **cfg.get("labels", {}),
        },
    }
    if "entrypoint" in cfg:
        config["Entrypoint"] = cfg["entrypoint"]
    if "cmd" in cfg:
        config["Cmd"] = cfg["cmd"]
    if "ports" in cfg:
        config["ExposedPorts"] = {f"{p}/tcp": {} for p in cfg["ports"]}
    if "volumes" in cfg:
        config["Volumes"] = {v: {} for v in cfg["volumes"]}
    return config


def build_image(state: BuildState, recipe: Recipe) -> dict[str, Any]:
    start = time.monotonic()
    infos = [base_layer(state, recipe)]
    history = [f"debian {recipe.base.get('suite', 'bookworm')} base (mmdebstrap extract)"]
    for spec in recipe.layers:
        infos.append(recipe_layer(state, recipe, spec))
        history.append(f"lambdaclone layer {spec['name']}")
    layers = [as_layer(i) for i in infos]
    config_doc = oci.image_config(
        layers, epoch=epoch(), config=image_config_of(recipe), history=history
    )
    config = state.layout.put_bytes(oci.canonical_json(config_doc), oci.CONFIG_TYPE)
    annotations = {
        "org.opencontainers.image.title": recipe.repository,
        "org.opencontainers.image.version": recipe.tag,
    }
    manifest = state.layout.put_bytes(
        oci.canonical_json(oci.manifest(config, layers, annotations)), oci.MANIFEST_TYPE
    )
    seconds = round(time.monotonic() - start, 1)
    return {
        "image": f"{recipe.repository}:{recipe.tag}",
        "ref": recipe.ref,
        "digest": manifest.digest,
        "manifest": manifest,
        "compressed_bytes": sum(layer.blob.size for layer in layers),
        "seconds": seconds,
        "layers": [
            {
                "name": n,
                "digest": i["digest"],
                "size": i["size"],
                "cached": i["cached"],
                **{k: v for k, v in i.items() if k in ("python", "runtime", "tools")},
            }
            for n, i in zip(["base", *(s["name"] for s in recipe.layers)], infos, strict=True)
        ],
        "debian_packages": infos[0]["packages"],
    }


def cmd_build(args: argparse.Namespace) -> int:
    recipes = [load_recipe(Path(p)) for p in args.recipe] or load_recipes(args.images)
    cache = images_cache()
    cache.mkdir(parents=True, exist_ok=True)
    state = BuildState(
        oci.Layout(Path(args.layout) if args.layout else cache / "oci"),
        cache / "keys",
        rebuild=args.rebuild,
    )
    refs = state.layout.read_index()
    total = time.monotonic()
    results = []
    for recipe in recipes:
        result = build_image(state, recipe)
        refs[recipe.ref] = result.pop("manifest")
        results.append(result)
        state.layout.write_index(refs)
    if not args.keep:
        freed = state.layout.prune(state.layout.referenced(refs.values()))
        if freed:
            log(f"pruned {freed / 1e6:.0f} MB of unreferenced blobs")
    report = {
        "layout": str(state.layout.root),
        "source_date_epoch": epoch(),
        "seconds": round(time.monotonic() - total, 1),
        "images": results,
    }
    (cache / "build-report.json").write_text(json.dumps(report, indent=1))
    for r in results:
        hits = sum(1 for layer in r["layers"] if layer["cached"])
        print(
            f"{r['image']:38} {r['digest']}  {r['compressed_bytes'] / 1e6:7.1f} MB  "
            f"{r['seconds']:6.1f}s  ({hits}/{len(r['layers'])} layers cached)"
        )
    print(
        f"layout: {state.layout.root}  report: {cache / 'build-report.json'}  "
        f"total {report['seconds']}s"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    layout = Path(args.layout) if args.layout else images_cache() / "oci"
    refs = oci.Layout(layout).read_index() if layout.exists() else {}
    for recipe in load_recipes([]):
        digest = refs[recipe.ref].digest if recipe.ref in refs else "(not built)"
        print(f"{recipe.repository}:{recipe.tag:8} {recipe.path.relative_to(REPO)}  {digest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layout", help="OCI layout directory (default: the images cache)")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build")
    build.add_argument("images", nargs="*")
    build.add_argument("--rebuild", action="store_true", help="ignore the layer cache")
    build.add_argument("--keep", action="store_true", help="do not prune unreferenced blobs")
    build.add_argument("--recipe", action="append", default=[], help="a recipe file to build")
    push = sub.add_parser("push")
    push.add_argument("images", nargs="*")
    push.add_argument("--registry", required=True, help="e.g. 127.0.0.1:5000 or an ECR host")
    push.add_argument("--creds", help="USER:PASSWORD for the registry")
    push.add_argument("--authfile", help="a containers-auth.json (skopeo login / docker login)")
    push.add_argument(
        "--tls-verify",
        type=lambda v: v == "true",
        default=None,
        help="true/false; default false only for loopback registries",
    )
    push.add_argument(
        "--lock",
        help="the images lock to write: each image's reference by digest (default: "
        "images.lock.json in the images cache); the control plane reads it "
        "(LAMBDACLONE_IMAGE_REGISTRY=<its absolute path>)",
    )
    run = sub.add_parser("run")
    run.add_argument("image")
    run.add_argument("--bind", action="append", default=[], metavar="HOST:CONTAINER[:ro]")
    run.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    smoke = sub.add_parser("smoke")
    smoke.add_argument("images", nargs="*")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    if args.command in ("push", "run", "smoke"):
        import ops  # noqa: PLC0415 - outside the builder's digest: it never shapes an image

        return int(getattr(ops, f"cmd_{args.command}")(args))
    return cmd_list(args) if args.command == "list" else cmd_build(args)


if __name__ == "__main__":
    sys.exit(main())
