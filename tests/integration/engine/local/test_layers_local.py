"""A deployment's /opt on the local target: layers unpacked once by digest, merged in order by
hard links (a later layer's file wins), bound read-only at /opt in a real sandbox where python,
node and the shell find what Lambda's layer paths promise."""

from __future__ import annotations

import io
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from engine.layers import LayerRef, Layers
from engine.local import hostcheck
from engine.local.cgroups import CgroupTree
from engine.local.layers import LAYERS_DIR, opt_env, opt_tree
from engine.local.layout import Layout
from engine.local.sandbox import BoxRequest, SandboxHost, start
from engine.local.seccomp import program
from engine.local.toolchains import Toolchains
from engine.local.uids import UidPool
from engine.package import identity, read
from engine.settings import Settings
from engine.spec import FunctionConfig, FunctionSpec, sha256_text
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

FIRST = {
    "python/shared.py": "WHO = 'first'\n",
    "python/lib/python3.12/site-packages/sitemod.py": "WHERE = 'site-packages'\n",
    "nodejs/node_modules/greeter/index.js": "exports.hi = () => 'hi from the first layer';\n",
    "bin/tool": "#!/bin/sh\necho first tool\n",
}
SECOND = {
    "python/shared.py": "WHO = 'second'\n",
    "nodejs/node20/node_modules/versioned/index.js": "exports.v = () => 'node20 path';\n",
}


class Source:
    """Layer content by location, counting reads (the cache must spare them)."""

    def __init__(self, archives: dict[str, bytes]) -> None:
        self.codes = {name: read(raw).encode() for name, raw in archives.items()}
        self.reads = 0

    def archive(self, ref: LayerRef) -> str:
        self.reads += 1
        return self.codes[ref.location]

    def ref(self, name: str, version: int) -> LayerRef:
        code = self.codes[name]
        return LayerRef(name, version, sha256_text(identity(code)), 1, name)


def with_layers(spec: FunctionSpec, refs: list[LayerRef]) -> FunctionSpec:
    config = FunctionConfig(**{**vars(spec.config), "layers": Layers(tuple(refs))})
    return FunctionSpec(spec.key, config, spec.code, spec.image, spec.run_command)


def executable_zip(files: dict[str, str], executable: str) -> bytes:
    """`files` zipped, `executable` with mode 0755 (a layer's `bin/` tool)."""
    buf = io.BytesIO(zip_of({k: v for k, v in files.items() if k != executable}))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(executable, date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, files[executable])
    return buf.getvalue()


def test_layers_merge_in_order_by_hard_links_and_unpack_once(tmp_path: Path) -> None:
    layout = Layout.under(tmp_path)
    source = Source({"first": zip_of(FIRST), "second": zip_of(SECOND)})
    refs = [source.ref("first", 1), source.ref("second", 1)]
    spec = with_layers(make_spec("python"), refs)
    tree = opt_tree(layout, spec, source)
    assert tree is not None
    assert (tree / "python/shared.py").read_text() == "WHO = 'second'\n"
    assert (tree / "nodejs/node_modules/greeter/index.js").is_file()
    cached = layout.root / LAYERS_DIR / refs[1].sha256 / "python/shared.py"
    assert (tree / "python/shared.py").stat().st_ino == cached.stat().st_ino
    assert source.reads == 2

    # Another deployment (another spec) with the same layers: no new reads, its own tree.
    other = with_layers(make_spec("python", key=spec.key, memory_mb=256), refs[::-1])
    reordered = opt_tree(layout, other, source)
    assert reordered is not None and reordered != tree
    assert (reordered / "python/shared.py").read_text() == "WHO = 'first'\n"
    assert source.reads == 2
    assert opt_tree(layout, make_spec("python"), source) is None


@pytest.fixture
def box_host(tmp_path: Path) -> SandboxHost:
    support = hostcheck.check("strict")
    if support.level != "full" or support.tools is None:
        pytest.fail(f"this test needs the sandbox: {support.reason}")
    settings = Settings(data_dir=tmp_path)
    return SandboxHost(
        tools=support.tools,
        cgroups=CgroupTree(settings.sandbox_cgroup, f"layers-{tmp_path.name[-8:]}"),
        uids=UidPool(tmp_path / "run", settings.sandbox_uid_first, settings.sandbox_uid_count),
        seccomp=program(),
        cpu_quota_us=100_000,
        pids_max=64,
    )


def run_boxed(
    host: SandboxHost, spec: FunctionSpec, tree: Path, argv: list[str], ro: tuple[Path, ...]
) -> str:
    code_dir = tree.parent / "task"
    code_dir.mkdir(exist_ok=True, mode=0o755)
    env = opt_env(spec, {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, "/opt")
    request = BoxRequest("layers-test", 256 * 1024 * 1024, code_dir, ro, opt_dir=tree)
    box = start(host, request, argv, env, stdin=subprocess.DEVNULL)
    try:
        out, err = box.popen.communicate(timeout=60)
    finally:
        box.finish()
    assert box.popen.returncode == 0, err.decode()
    return out.decode()


def test_a_sandboxed_worker_finds_the_layers_where_lambda_puts_them(
    tmp_path: Path, box_host: SandboxHost
) -> None:
    layout = Layout.under(tmp_path / "data")
    source = Source({"first": executable_zip(FIRST, "bin/tool"), "second": zip_of(SECOND)})
    refs = [source.ref("first", 1), source.ref("second", 1)]
    tools = Toolchains()

    python = with_layers(make_spec("python"), refs)
    tree = opt_tree(layout, python, source)
    assert tree is not None
    installed = tools.installed("python", "3.12")
    script = "import sys, shared, sitemod; print(shared.WHO, sitemod.WHERE);open('/opt/x', 'w')"
    argv = [installed.toolchain.executable, "-c", f"{script}"]
    code_dir = tree.parent / "task"
    code_dir.mkdir(mode=0o755)
    env = opt_env(python, {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, "/opt")
    request = BoxRequest("layers-py", 256 * 1024 * 1024, code_dir, (installed.root,), opt_dir=tree)
    box = start(box_host, request, argv, env, stdin=subprocess.DEVNULL)
    try:
        out, err = box.popen.communicate(timeout=60)
    finally:
        box.finish()
    assert out.decode().strip() == "second site-packages"
    assert "Read-only file system" in err.decode()  # /opt is read-only

    node = with_layers(make_spec("node"), refs)
    node_tree = opt_tree(layout, node, source)
    assert node_tree is not None
    node_installed = tools.installed("node", "20")
    js = "console.log(require('greeter').hi() + ' / ' + require('versioned').v())"
    said = run_boxed(
        box_host,
        node,
        node_tree,
        [node_installed.toolchain.executable, "-e", js],
        (node_installed.root,),
    )
    assert said.strip() == "hi from the first layer / node20 path"

    shell = run_boxed(box_host, node, node_tree, ["/bin/sh", "-c", "tool"], ())
    assert shell.strip() == "first tool"
