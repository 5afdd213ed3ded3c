"""Runs one `apply` in its own process so a test can SIGKILL it (and the pulumi CLI and provider
it started) in the middle of `pulumi up`. Prints each progress line as it comes.

usage: python k8s_crash_worker.py '<settings json>' '<spec json>'
"""

from __future__ import annotations

import json
import sys

from engine.kubernetes.journal import spec_from_json
from engine.kubernetes.target import KubernetesTarget
from engine.settings import Settings


def main() -> None:
    settings = Settings.model_validate_json(sys.argv[1])
    spec = spec_from_json(json.loads(sys.argv[2]))
    target = KubernetesTarget(settings)
    target.apply(spec, lambda line: print(line, flush=True))
    print("APPLIED", flush=True)


if __name__ == "__main__":
    main()
