"""Where the local target keeps things on disk: pure path arithmetic, no I/O.

```
<data_dir>/local/
  functions/<key>/
    active.json            the revision that takes traffic (survives control-plane restarts)
    pids/<pid>.json        one per running worker, for recovery after a control-plane crash
    logs/worker.log        captured stdout/stderr (+ platform events), JSON lines, rotated (.1)
    rev-<spec_hash[:12]>/  one directory per revision: the code file (+ a built binary link)
  spares/<pid>.json        the pre-started Python worker, for recovery
  pycache/                 bytecode of the wrappers and Flask (PYTHONPYCACHEPREFIX)
  go-cache/<sha256>/       compiled Go binaries, one per code (and wrapper) digest, shared
  gocache/                 GOCACHE for those builds
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REVISION_HASH_CHARS = 12
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_safe_key(key: str) -> bool:
    """Keys become directory names: only URL-safe characters, never `..` or a slash."""
    return bool(_SAFE_KEY.match(key))


def revision_name(spec_hash: str) -> str:
    return f"rev-{spec_hash[:REVISION_HASH_CHARS]}"


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
        """Pid files of pre-started Python workers (see engine/local/spares.py)."""
        return self.root / "spares"

    @property
    def go_cache(self) -> Path:
        return self.root / "go-cache"

    @property
    def gocache(self) -> Path:
        return self.root / "gocache"

    def go_binary_dir(self, digest: str) -> Path:
        return self.go_cache / digest

    def function_dir(self, key: str) -> Path:
        if not is_safe_key(key):
            raise ValueError(f"unsafe function key {key!r}")
        return self.functions / key

    def revision_dir(self, key: str, spec_hash: str) -> Path:
        return self.function_dir(key) / revision_name(spec_hash)

    def active_file(self, key: str) -> Path:
        return self.function_dir(key) / "active.json"

    def pid_dir(self, key: str) -> Path:
        return self.function_dir(key) / "pids"

    def pid_file(self, key: str, pid: int) -> Path:
        return self.pid_dir(key) / f"{pid}.json"

    def log_file(self, key: str) -> Path:
        return self.function_dir(key) / "logs" / "worker.log"
