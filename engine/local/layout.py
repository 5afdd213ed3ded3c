"""Where the local target keeps things on disk: pure path arithmetic, no I/O.

```
<data_dir>/local/
  functions/<key>/
    active.json            the deployment that takes traffic (survives control-plane restarts)
    logs/worker.log        captured stdout/stderr (+ platform events), JSON lines, rotated (.1)
    spec-<spec_hash[:12]>/ one directory per deployed spec: the code file(s)
  spares/<worker id>/      a sandboxed pre-started worker's code dir (bound at /var/task)
  artifacts/<digest>/      what a runtime's build produced (the Go binary), shared by digest
  build-cache/<runtime>/   the toolchains' own caches (GOCACHE)
```

A *deployment* is one spec materialised here (`spec-<hash>`); a function's *revision* is the
store's numbered history, which the local target never sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.keys import check_key

DEPLOYMENT_HASH_CHARS = 12
DEPLOYMENT_PREFIX = "spec-"


def deployment_name(spec_hash: str) -> str:
    return f"{DEPLOYMENT_PREFIX}{spec_hash[:DEPLOYMENT_HASH_CHARS]}"


@dataclass(frozen=True)
class Layout:
    """All paths of the local target, rooted at `<data_dir>/local`."""

    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> Layout:
        return cls(data_dir / "local")

    @property
    def functions(self) -> Path:
        return self.root / "functions"

    @property
    def spares(self) -> Path:
        """Pre-started workers' code directories (see engine/local/spares.py)."""
        return self.root / "spares"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def artifact_dir(self, digest: str) -> Path:
        return self.artifacts / digest

    def build_cache(self, runtime: str) -> Path:
        return self.root / "build-cache" / runtime

    def function_dir(self, key: str) -> Path:
        return self.functions / check_key(key)

    def deployment_dir(self, key: str, spec_hash: str) -> Path:
        return self.function_dir(key) / deployment_name(spec_hash)

    def active_file(self, key: str) -> Path:
        return self.function_dir(key) / "active.json"

    def log_file(self, key: str) -> Path:
        return self.function_dir(key) / "logs" / "worker.log"
