"""Every name and label the Kubernetes target derives from a function key, in one place.

A key becomes part of Kubernetes object names (`lc-<key>`, a DNS-1035 label of at most 63
characters), a label value, a Pulumi stack name and a directory name, so it is checked once here.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from engine.formats import code_object_key as object_key_of
from engine.formats import endpoint_path
from engine.keys import check_key, nameable
from engine.spec import FunctionSpec
from runtimes.contract import HEALTH_PATH
from runtimes.registry import driver

__all__ = ["HEALTH_PATH", "check_key", "endpoint_path"]

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
SECRETS_ANNOTATION = "lambdaclone.dev/secrets-fingerprint"
"""On the pod template: identifies the secret values (never shows them), so a change rolls."""

CODE_DIR = "/var/task"
TMP_DIR = "/tmp"  # noqa: S108 - the pod's own emptyDir, not the host's /tmp
CONTAINER_PORT = 8080
SERVICE_PORT = 80


def object_name(key: str) -> str:
    """The name of the function's ConfigMap, Secret, Deployment, Service and Ingress."""
    return NAME_PREFIX + check_key(key)


def stack_name(key: str) -> str:
    return STACK_PREFIX + check_key(key)


def key_of_stack(name: str) -> str | None:
    """The key a stack name was made from, or None for a stack that is not a function's."""
    if not name.startswith(STACK_PREFIX):
        return None
    key = name.removeprefix(STACK_PREFIX)
    return key if nameable(key) else None


def selector_labels(key: str) -> dict[str, str]:
    """The labels the Service selects and the Deployment matches; they never change."""
    return {APP_LABEL: APP_VALUE, KEY_LABEL: check_key(key)}


def labels(key: str) -> dict[str, str]:
    return {**selector_labels(key), MANAGED_BY_LABEL: MANAGED_BY_VALUE}


def service_host(key: str, namespace: str) -> str:
    return f"{object_name(key)}.{namespace}.svc.cluster.local"


def code_filename(spec: FunctionSpec) -> str:
    """The file the wrapper loads: the handler's module with the runtime's extension."""
    return driver(spec.runtime).code_filename(spec.handler, spec.code)


def code_extension(spec: FunctionSpec) -> str:
    return PurePosixPath(code_filename(spec)).suffix.removeprefix(".")


def code_object_key(spec: FunctionSpec) -> str:
    """The S3 key of the code artifact (the same the control plane's S3 code store uses)."""
    return object_key_of(spec.key, spec.code_sha256, code_extension(spec))
