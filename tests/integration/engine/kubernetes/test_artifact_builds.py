"""The Kubernetes target's artifact build with the real toolchains and registry: the local
target's build code in a child process, a package's dependency installed beside its files,
the same package packed to the same digest by two control planes, an unchanged build not run
again, and a failing install reported as the local target reports it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from engine import package
from engine.errors import DependencyBuildFailed
from engine.kubernetes.builds import ArtifactBuilder
from engine.spec import FunctionSpec
from tests.fixtures.packages import zip_of
from tests.fixtures.specs import make_spec

HELLO = "import six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"


def python_package(requirements: str) -> FunctionSpec:
    files = {"src/hello.py": HELLO, "requirements.txt": requirements}
    code = package.read(zip_of(files)).encode()
    return make_spec("python", code=code, handler="src/hello.handler", key="fna")


def test_a_package_is_built_with_its_dependency_and_packed_reproducibly(tmp_path: Path) -> None:
    spec, lines = python_package("six==1.16.0\n"), list[str]()
    first = ArtifactBuilder.under(tmp_path / "one")
    digest = first.build(spec, lines.append)
    assert any(line.startswith("pip: ") for line in lines)
    with tarfile.open(first.store.path(digest)) as archive:
        names = set(archive.getnames())
    assert {"src/hello.py", "six.py", "requirements.txt"} <= names
    assert first.store.owns("fna", digest)

    again: list[str] = []
    assert first.build(spec, again.append) == digest
    assert again == [f"artifact {digest[:12]}: already built for this code, nothing to do"]
    assert ArtifactBuilder.under(tmp_path / "two").build(spec, lambda _line: None) == digest


def test_a_failing_install_is_reported_and_stores_nothing(tmp_path: Path) -> None:
    builder = ArtifactBuilder.under(tmp_path)
    spec = python_package("lambdaclone-no-such-package-4f1c==9.9\n")
    with pytest.raises(DependencyBuildFailed) as failed:
        builder.build(spec, lambda _line: None)
    assert "lambdaclone-no-such-package-4f1c" in str(failed.value.detail["build_output"])
    assert list(builder.store.root.glob("*.tar.gz")) == []
    assert builder.known(spec) is None
