"""Every tool version is pinned once (tools/versions.env); the Python pins and the Go wrapper
modules must agree with it, and the built tools must report it."""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from engine.tools import REPO_ROOT, esbuild_path, pinned_versions, tool_env, tool_path

V = pinned_versions()


def _python_pins() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name, sep, version = requirement.partition("==")
        if sep:
            pins[name] = version
    return pins


def _go_mod(name: str) -> str:
    return (REPO_ROOT / "tools" / "go" / name / "go.mod").read_text()


def test_python_sdk_pins_match_the_tools() -> None:
    pins = _python_pins()
    assert pins["pulumi"] == V["PULUMI_VERSION"]
    assert pins["pulumi-kubernetes"] == V["PULUMI_KUBERNETES_VERSION"]


@pytest.mark.parametrize(
    ("module", "requirement"),
    [
        ("pulumi", f"github.com/pulumi/pulumi/pkg/v3 v{V['PULUMI_VERSION']}"),
        ("pulumi", f"github.com/pulumi/pulumi/sdk/v3 v{V['PULUMI_VERSION']}"),
        (
            "pulumi-kubernetes",
            f"pulumi-kubernetes/provider/v4 {V['PULUMI_KUBERNETES_PROVIDER_MODULE']}",
        ),
        ("kubernetes", f"k8s.io/kubernetes v{V['KUBERNETES_VERSION']}"),
        ("kwok", f"sigs.k8s.io/kwok v{V['KWOK_VERSION']}"),
        ("ferretdb", f"github.com/FerretDB/FerretDB v{V['FERRETDB_VERSION']}"),
    ],
)
def test_go_wrapper_modules_match_the_pins(module: str, requirement: str) -> None:
    assert requirement in _go_mod(module)


def _run(*argv: str) -> str:
    return subprocess.run(
        argv, capture_output=True, text=True, check=True, env=tool_env(), timeout=60
    ).stdout


def test_cached_pulumi_reports_the_pinned_version() -> None:
    assert _run(str(tool_path("pulumi")), "version").strip() == f"v{V['PULUMI_VERSION']}"


def test_kubernetes_provider_serves_the_pinned_version() -> None:
    """`pulumi package get-schema` starts the provider binary and asks it for its schema."""
    provider = tool_path("pulumi-resource-kubernetes")
    schema = json.loads(_run(str(tool_path("pulumi")), "package", "get-schema", str(provider)))
    assert schema["name"] == "kubernetes"
    assert schema["version"] == V["PULUMI_KUBERNETES_VERSION"]


def test_control_plane_binaries_are_version_stamped() -> None:
    out = _run(str(tool_path("kube-apiserver")), "--version")
    assert out.strip() == f"Kubernetes v{V['KUBERNETES_VERSION']}"


def test_esbuild_is_the_pinned_release() -> None:
    """The compiler of TypeScript handlers: the binary the engine finds reports ESBUILD_VERSION,
    and the cache holds it under that version."""
    found = esbuild_path()
    assert _run(str(found), "--version").strip() == V["ESBUILD_VERSION"]
    assert found.parent.parent.name == f"esbuild-{V['ESBUILD_VERSION']}"
