"""Entry point Pulumi runs for the base stack (`main: infra/` in the root Pulumi.yaml)."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # Pulumi runs this directory as a script, not as the `infra` package.
    sys.path.insert(0, _ROOT)

from infra.outputs import export  # noqa: E402
from infra.pulumi_config import load_config  # noqa: E402
from infra.stack import build  # noqa: E402

export(build(load_config()))
