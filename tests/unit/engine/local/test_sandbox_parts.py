"""The pure parts of the sandbox: bwrap's command line, the seccomp program, the recovery
marker, the cgroup path parsing, the loopback rules and the runtime lookup in the tool cache."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from engine.errors import ToolMissing
from engine.local import netguard, seccomp
from engine.local.cgroups import own_paths
from engine.local.orphans import MARKER, Mark, instance_of
from engine.local.sandbox_argv import BoxFds, BoxSpec, Tools, account_files, bwrap_argv
from engine.local.toolchains import Toolchains, matches

TOOLS = Tools("/usr/bin/bwrap", "/usr/bin/setpriv", "/usr/bin/tini")
SPEC = BoxSpec(
    uid=61005,
    code_dir="/data/local/functions/k/spec-abc",
    ro_paths=("/root/.cache/lc/runtimes/python-3.12.1", "/repo/runtimes/python"),
    socket_dir="/run/lambdaclone/u61005",
    tmp_bytes=128 << 20,
    unset_env=(MARKER,),
)
FDS = BoxFds(info=5, block=6, passwd=7, group=8, seccomp=9)


def _pairs(argv: list[str], option: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == option]


def test_the_worker_sees_its_code_runtime_and_socket_and_nothing_else_of_the_host() -> None:
    argv = bwrap_argv(SPEC, FDS, TOOLS, ["python3", "-I", "wrapper.py"])
    binds = _pairs(argv, "--ro-bind") + _pairs(argv, "--bind")
    assert (SPEC.code_dir, "/var/task") in binds
    assert ("/run/lambdaclone/u61005", "/run/fn") in binds
    for path in SPEC.ro_paths:
        assert (path, path) in _pairs(argv, "--ro-bind")
    sources = {src for src, _ in binds}
    assert sources == {"/usr", SPEC.code_dir, SPEC.socket_dir, *SPEC.ro_paths}
    assert all(src.startswith("/etc/") for src, _ in _pairs(argv, "--ro-bind-try"))


def test_parent_directories_are_made_traversable_before_the_binds() -> None:
    argv = bwrap_argv(SPEC, FDS, TOOLS, ["x"])
    made = [argv[i + 3] for i, a in enumerate(argv) if a == "--perms" and argv[i + 2] == "--dir"]
    for parent in ("/root", "/root/.cache", "/root/.cache/lc/runtimes", "/repo/runtimes"):
        assert parent in made
        at = argv.index(parent)
        assert argv[at - 2 : at] == ["0755", "--dir"]
    first_bind = argv.index("/root/.cache/lc/runtimes/python-3.12.1")
    assert argv.index("/root/.cache") < first_bind


def test_privileges_are_dropped_and_tini_runs_the_worker() -> None:
    argv = bwrap_argv(SPEC, FDS, TOOLS, ["node", "wrapper.mjs"])
    assert argv[:2] == ["/usr/bin/bwrap", "--as-pid-1"]
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session"):
        assert flag in argv
    assert "--unshare-user" not in argv and "--unshare-net" not in argv  # outbound calls work
    tail = argv[argv.index("/usr/bin/setpriv") :]
    assert tail[1:3] == ["--reuid=61005", "--regid=61005"]
    for flag in ("--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"):
        assert flag in tail
    assert tail[-6:] == ["--", "/usr/bin/tini", "-g", "--", "node", "wrapper.mjs"]
    assert argv[argv.index("--unsetenv") + 1] == MARKER  # the worker never sees its marker
    assert [argv[argv.index(o) + 1] for o in ("--info-fd", "--block-fd", "--seccomp")] == [
        "5",
        "6",
        "9",
    ]


def test_the_account_files_name_the_worker_and_nobody_else() -> None:
    passwd, group = account_files(61005)
    assert b"fn:x:61005:61005::/tmp:" in passwd and b"fn:x:61005:" in group
    assert len(passwd.splitlines()) == 3


def test_the_seccomp_program_denies_user_namespaces_and_foreign_abis() -> None:
    program = seccomp.program()
    assert len(program) % 8 == 0 and len(program) // 8 == 17
    code, _, _, k = struct.unpack("<HBBI", program[:8])
    assert (code, k) == (0x20, 4)  # load the architecture first
    ret = [struct.unpack("<HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    returns = {k for code, _, _, k in ret if code == 0x06}
    assert returns == {0x7FFF0000, 0x00050001, 0x00050026}  # allow, EPERM, ENOSYS
    assert any(k == 0x10000000 for _, _, _, k in ret)  # CLONE_NEWUSER is tested


def test_the_recovery_marker_round_trips_and_names_the_data_dir(tmp_path: Path) -> None:
    mark = Mark(instance_of(tmp_path), "k3y", "a1b2c3")
    [(name, value)] = mark.env().items()
    assert name == MARKER and Mark.parse(value) == mark
    assert mark.cgroup_name == "k3y.a1b2c3"
    assert Mark.parse("only:two") is None and Mark.parse("a::c") is None
    assert instance_of(tmp_path) == instance_of(tmp_path / "." / "x" / "..")
    assert instance_of(tmp_path) != instance_of(tmp_path / "other")


def test_own_cgroup_paths_are_read_per_controller() -> None:
    text = "9:name=systemd:/\n8:pids:/\n6:freezer:/\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/\n"
    assert own_paths(text) == {"pids": "/", "freezer": "/", "memory": "/a/b", "cpu": "/c"}


def test_the_loopback_rules_cover_only_the_sandbox_uids() -> None:
    rules = netguard.ruleset(61000, 1000)
    name = netguard.table_name(61000, 1000)
    assert rules.startswith(f"table inet {name}\ndelete table inet {name}\n")
    assert rules.count('meta skuid 61000-61999 oifname "lo"') == 4
    assert "dport 53 accept" in rules and rules.rstrip().endswith("}")


def _runtime(root: Path, name: str, version: str, executable: str, complete: bool = True) -> None:
    tree = root / name
    (tree / "bin").mkdir(parents=True)
    (tree / executable).write_text("#!/bin/sh\n")
    meta = {"language": name, "version": version, "executable": executable, "source": "test"}
    (tree / "runtime.json").write_text(json.dumps(meta))
    if complete:
        (tree / ".complete").write_text("1")


def test_a_functions_catalog_version_runs_on_its_pinned_tree(tmp_path: Path) -> None:
    _runtime(tmp_path, "python-3.12.1", "3.12.1", "bin/python3")
    _runtime(tmp_path, "python-3.12.9", "3.12.9", "bin/python3", complete=False)
    _runtime(tmp_path, "python-3.11.7", "3.11.7", "bin/python3")
    _runtime(tmp_path, "node-20.20.2", "20.20.2", "bin/node")
    chains = Toolchains(tmp_path)
    python = chains.installed("python", "3.12")
    assert python.root == tmp_path / "python-3.12.1"
    assert python.toolchain.executable == str(tmp_path / "python-3.12.1/bin/python3")
    assert chains.describe("node", "20") == "node 20.20.2"
    assert chains.version("golang", "1.22") == "unavailable"
    with pytest.raises(ToolMissing, match=r"golang 1\.22 .*make tools"):
        chains.get("golang", "1.22")
    with pytest.raises(ToolMissing):
        chains.get("python", "3.13")


def test_a_version_line_matches_its_releases_only() -> None:
    assert matches("3.12", "3.12.1") and matches("20", "20.20.2") and matches("1.22", "1.22")
    assert not matches("3.12", "3.121") and not matches("2", "20.20.2")
