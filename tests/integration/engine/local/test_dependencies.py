"""Dependency builds of the local target, run for real with the pinned toolchains: streamed as
progress, cached by dependency set (a second deploy installs nothing), failing with the
tool's own words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine import package
from engine.errors import DependencyBuildFailed
from engine.local import build
from engine.local.artifacts import Artifacts
from engine.local.layout import Layout
from engine.local.toolchains import Toolchains
from engine.spec import FunctionConfig, FunctionSpec
from runtimes.registry import RuntimeName
from tests.fixtures.packages import zip_of, zip_with_symlink

KEY = "depstestkey0000000000000"
HANDLER_PY = "import six\n\ndef handler(event, context):\n    return six.__version__\n"


def spec_of(
    files: dict[str, str], handler: str = "app.handler", archive: bytes = b""
) -> FunctionSpec:
    config = FunctionConfig("deps", RuntimeName("python"), "3.12", handler)
    return FunctionSpec(KEY, config, package.read(archive or zip_of(files)).encode(), "image")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return Layout(tmp_path_factory.mktemp("deps") / "local")


def test_a_second_deploy_of_the_same_set_installs_nothing(layout: Layout) -> None:
    first = spec_of({"app.py": HANDLER_PY, "requirements.txt": "six==1.16.0\n"})
    lines: list[str] = []
    code_dir, filename = build.materialise(layout, first, lines.append)
    assert filename == "app.py"
    assert any(line.startswith("pip: ") for line in lines), lines  # the log is progress
    assert (code_dir / "six.py").is_file() and (code_dir / "app.py").is_file()

    # New code, same dependency set: a cache hit. The toolchain given cannot run (pip would
    # fail), yet the deploy succeeds: nothing was installed.
    second = spec_of({"app.py": HANDLER_PY + "# v2\n", "requirements.txt": "six==1.16.0\n"})
    real = Toolchains().get("python", "3.12")
    broken = replace(real, executable="/nonexistent/python3")
    again: list[str] = []
    code_dir2, _ = build.materialise(layout, second, again.append, broken)
    assert code_dir2 != code_dir and (code_dir2 / "six.py").is_file()
    assert any("cache hit" in line for line in again), again
    assert not any(line.startswith("pip: ") for line in again), again
    # The cached files are shared (hard links), not copied.
    assert (code_dir2 / "six.py").stat().st_ino == (code_dir / "six.py").stat().st_ino


def test_a_bad_requirement_fails_with_pips_words_and_writes_no_deployment(
    layout: Layout,
) -> None:
    spec = spec_of({"app.py": HANDLER_PY, "requirements.txt": "lambdaclone-no-such-pkg-q9==1\n"})
    with pytest.raises(DependencyBuildFailed) as failed:
        build.materialise(layout, spec)
    assert "lambdaclone-no-such-pkg-q9" in str(failed.value.detail["build_output"])
    assert failed.value.code == "dependency_build_failed"
    assert not layout.deployment_dir(KEY, spec.spec_hash).exists()
    leftovers = [p.name for p in layout.function_dir(KEY).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_package_is_unpacked_with_its_modes_and_inner_symlinks(tmp_path: Path) -> None:
    files = {
        "src/functions/hello.py": "def handler(e, c):\n    return 1\n",
        "bin/run": "#!/bin/sh\n",
    }
    archive = zip_with_symlink(files, "lib/latest.py", "../src/functions/hello.py")
    spec = spec_of(files, "src/functions/hello.handler", archive)
    code_dir, filename = build.materialise(Layout(tmp_path), spec)
    assert filename == "src/functions/hello.py"
    assert (code_dir / filename).read_text() == files["src/functions/hello.py"]
    assert (code_dir / "src").stat().st_mode & 0o755 == 0o755
    assert (code_dir / filename).stat().st_mode & 0o777 == 0o644
    assert sorted(
        p.relative_to(code_dir).as_posix() for p in code_dir.rglob("*") if p.is_file()
    ) == [
        "bin/run",
        "lib/latest.py",
        "src/functions/hello.py",
    ]
    assert (code_dir / "lib/latest.py").readlink().as_posix() == "../src/functions/hello.py"
    assert (code_dir / "lib/latest.py").read_text() == files["src/functions/hello.py"]


def test_an_unused_dependency_set_is_pruned_and_deployments_keep_their_files(
    layout: Layout,
) -> None:
    spec = spec_of({"app.py": HANDLER_PY + "# prune\n", "requirements.txt": "six==1.16.0\n"})
    code_dir, _ = build.materialise(layout, spec)  # a cache hit of the first test's set
    key = build.dependency_key(spec)
    assert key is not None and (layout.artifacts / key).is_dir()
    assert Artifacts(layout, lambda: [spec]).prune() == []
    assert Artifacts(layout, list).prune() == [key]
    assert not (layout.artifacts / key).exists()
    assert "def add_metaclass" in (code_dir / "six.py").read_text()  # a hard link survives
