"""Dependency manifests that would make a deploy-time build read the control plane's files or
use another index are refused at the door (engine/manifests.py)."""

from __future__ import annotations

import pytest

from engine import manifests
from engine.errors import PackageRefused


@pytest.mark.parametrize(
    "line",
    [
        "-r /var/lib/lambdaclone/admin.token",
        "--index-url https://evil.example/simple",
        "-e git+https://example.com/x.git",
        "--extra-index-url=https://evil.example",
        "./local-dir",
        "/abs/path.whl",
        "file:///etc/passwd",
        "pkg @ file:///srv/pkg.whl",
        "pkg @ http://insecure.example/pkg.whl",
    ],
)
def test_unsafe_requirements_are_refused(line: str) -> None:
    with pytest.raises(PackageRefused) as refused:
        manifests.check("requirements.txt", f"six==1.17.0\n{line}\n".encode())
    assert refused.value.code == "unsafe_dependency"


def test_ordinary_requirements_pass() -> None:
    text = "# deps\nsix==1.17.0\nrequests[socks]>=2 ; python_version >= '3.8'\n\nnumpy  # math\n"
    text += "pkg @ https://files.example/pkg-1.0-py3-none-any.whl\n"
    manifests.check("requirements.txt", text.encode())


@pytest.mark.parametrize("spec", ["file:../../x", "link:/etc", "./lib", "~/x", "git+file:///r"])
def test_local_npm_dependencies_are_refused(spec: str) -> None:
    body = f'{{"dependencies": {{"lodash": "4.17.21", "x": "{spec}"}}}}'.encode()
    with pytest.raises(PackageRefused) as refused:
        manifests.check("package.json", body)
    assert refused.value.code == "unsafe_dependency"


def test_registry_npm_dependencies_pass() -> None:
    manifests.check("package.json", b'{"dependencies": {"lodash": "^4.17.21", "e": "npm:x@1"}}')


def test_go_replace_by_a_local_directory_is_refused() -> None:
    with pytest.raises(PackageRefused):
        manifests.check("go.mod", b"module m\n\nreplace example.com/a => ../a\n")
    manifests.check("go.mod", b"module m\n\nreplace example.com/a => example.com/b v1.0.0\n")
