"""How a function's secret values reach its pods without being written anywhere in plain text
but the Kubernetes Secret itself (pure; the program declares that Secret, see `program.py`).

The Deployment names each value by `secretKeyRef`, and its pod template carries a fingerprint
of the values (keyed hashes from `engine.keyring`), so changing a secret rolls the pods while
the Deployment, the ConfigMap and Pulumi's state show only names and fingerprints.
"""

from __future__ import annotations

import json
from typing import Any

from engine.kubernetes import names
from engine.spec import FunctionSpec, sha256_text


def secret_env(spec: FunctionSpec) -> list[dict[str, Any]]:
    """One variable per secret, which the kubelet reads from the function's Secret at start."""
    ref = names.object_name(spec.key)
    return [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": ref, "key": name}}}
        for name in spec.config.secrets.names()
    ]


def secrets_fingerprint(spec: FunctionSpec) -> str:
    """Changes whenever a secret value, name or the set of names does; reveals none of them."""
    identity = sorted(spec.config.secrets.identity().items())
    return sha256_text(json.dumps(identity, separators=(",", ":")))
