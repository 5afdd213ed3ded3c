"""What a package's dependency manifests may ask for. Dependency builds run on the control
plane's machine (not in a function's sandbox), so a manifest may only name packages from the
operator's indexes — never a local path, a file URL or an installer option, which would make
the build read (and echo into its log) files of the control plane such as its admin token, or
point the installer at an index the operator did not choose. Pure: checked at the door, so a
refused manifest is a 422 and nothing is stored."""

from __future__ import annotations

import json
import re

from engine.errors import PackageRefused

CODE = "unsafe_dependency"
_LOCAL_SPEC = re.compile(r"^\s*(file:|link:|portal:|git\+file:|[./~\\])", re.IGNORECASE)
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?\s*[^\s]?")
_URL_REFERENCE = re.compile(r"@\s*(\S+)")
NPM_SECTIONS = ("dependencies", "optionalDependencies", "peerDependencies", "bundleDependencies")


def check(name: str, content: bytes) -> None:
    """Raise `PackageRefused(code="unsafe_dependency")` for what `name` must not declare."""
    if name == "requirements.txt":
        _check_requirements(content.decode("utf-8", "replace"))
    elif name == "package.json":
        _check_package_json(content)
    elif name == "go.mod":
        _check_go_mod(content.decode("utf-8", "replace"))


def _refuse(name: str, line: str, why: str) -> PackageRefused:
    return PackageRefused(f"{name}: {line.strip()[:120]!r} {why}", code=CODE, path=name)


def _check_requirements(text: str) -> None:
    """Requirement specifiers only (`name[extras] op version ; marker`, or `name @ https://…`):
    no `-r`/`-c`/`-e`/`--index-url`… lines, no paths, no `file:` URLs."""
    for line in text.splitlines():
        spec = line.split(" #", 1)[0].strip()
        if not spec or spec.startswith("#"):
            continue
        if spec.startswith("-"):
            raise _refuse("requirements.txt", line, "is an installer option (not allowed)")
        if not _REQUIREMENT.match(spec) or "file:" in spec.lower():
            raise _refuse("requirements.txt", line, "is not a package from an index")
        reference = _URL_REFERENCE.search(spec)
        if reference is not None and not reference.group(1).lower().startswith("https://"):
            raise _refuse("requirements.txt", line, "names a source other than https")


def _check_package_json(content: bytes) -> None:
    try:
        manifest = json.loads(content)
    except ValueError as exc:
        raise PackageRefused("package.json is not JSON", code=CODE, path="package.json") from exc
    if not isinstance(manifest, dict):
        raise PackageRefused("package.json is not an object", code=CODE, path="package.json")
    for section in NPM_SECTIONS:
        deps = manifest.get(section) or {}
        if not isinstance(deps, dict):
            continue
        for dep, spec in deps.items():
            if isinstance(spec, str) and _LOCAL_SPEC.match(spec):
                raise _refuse("package.json", f"{dep}: {spec}", "is a local path")


def _check_go_mod(text: str) -> None:
    """No `replace` of a module by a directory of this machine."""
    for line in text.splitlines():
        target = line.split("=>", 1)[1].strip() if "=>" in line else ""
        if target and _LOCAL_SPEC.match(target):
            raise _refuse("go.mod", line, "replaces a module by a local directory")
