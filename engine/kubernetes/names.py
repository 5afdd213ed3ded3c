"""Every name and label the Kubernetes target derives from a function key, in one place.

A key becomes part of Kubernetes object names (`lc-<key>`, a DNS-1035 label of at most 63
characters), a label value, a Pulumi stack name and a directory name, so it is checked once here.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from engine.errors import InvalidInput
from engine.spec import FunctionSpec
from runtimes.launch import code_filename as launch_filename

PROJECT = "lambdaclone-functions"
"""The Pulumi project every function stack belongs to."""
STACK_PREFIX = "lambdaclone-fn-"
NAME_PREFIX = "lc-"
COMPONENT_TYPE = "lambdaclone:function:Function"

APP_LABEL = "app.kubernetes.io/name"
APP_VALUE = "lambdaclone-function"
KEY_LABEL = "lambdaclone.dev/key"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "lambdaclone"
CODE_HASH_ANNOTATION = "lambdaclone.dev/code-sha256"

ENDPOINT_PREFIX = "/endpoint/"
HEALTH_PATH = "/__lambdaclone/health"
CODE_DIR = "/var/task"
TMP_DIR = "/tmp"  # noqa: S108 - the pod's own emptyDir, not the host's /tmp
CONTAINER_PORT = 8080
SERVICE_PORT = 80

_MAX_KEY = 63 - len(NAME_PREFIX)
_KEY_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def check_key(key: str) -> str:
    """The key itself, if it can name Kubernetes objects, a stack and a directory."""
    if len(key) > _MAX_KEY or not _KEY_RE.match(key):
        raise InvalidInput(
            f"function key {key!r} cannot name Kubernetes objects "
            f"(lowercase letters, digits and '-', at most {_MAX_KEY} characters)",
            field="key",
        )
    return key


def object_name(key: str) -> str:
    """The name of the function's ConfigMap, Deployment, Service and Ingress."""
    return NAME_PREFIX + check_key(key)


def stack_name(key: str) -> str:
    return STACK_PREFIX + check_key(key)


def key_of_stack(name: str) -> str | None:
    """The key a stack name was made from, or None for a stack that is not a function's."""
    if not name.startswith(STACK_PREFIX):
        return None
    key = name.removeprefix(STACK_PREFIX)
    return key if _KEY_RE.match(key) and len(key) <= _MAX_KEY else None


def selector_labels(key: str) -> dict[str, str]:
    """The labels the Service selects and the Deployment matches; they never change."""
    return {APP_LABEL: APP_VALUE, KEY_LABEL: check_key(key)}


def labels(key: str) -> dict[str, str]:
    return {**selector_labels(key), MANAGED_BY_LABEL: MANAGED_BY_VALUE}


def endpoint_path(key: str) -> str:
    return ENDPOINT_PREFIX + check_key(key)


def service_host(key: str, namespace: str) -> str:
    return f"{object_name(key)}.{namespace}.svc.cluster.local"


def code_filename(spec: FunctionSpec) -> str:
    """The file the wrapper loads: the handler's module with the runtime's extension."""
    return launch_filename(spec.runtime, spec.handler, spec.code)


def code_extension(spec: FunctionSpec) -> str:
    return PurePosixPath(code_filename(spec)).suffix.removeprefix(".")


def code_object_key(spec: FunctionSpec) -> str:
    """The S3 key of the code artifact: `functions/<key>/<sha256>.<ext>`."""
    return f"functions/{check_key(spec.key)}/{spec.code_sha256}.{code_extension(spec)}"
