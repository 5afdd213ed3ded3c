"""The embedded store: a FerretDB server (the MongoDB wire protocol over SQLite) under the data
dir, supervised by the control plane.

Used when no `LAMBDACLONE_MONGODB_URI` is configured, so `make run` needs no database set-up; the
test suite starts the same server. Production points at a real MongoDB instead.

- Reachable by the control plane only: FerretDB listens on a Unix socket in a directory only the
  control plane's user may enter, and on no TCP port (`layout`).
- Supervised: restarted with backoff when it dies; the MongoDB client reconnects by itself
  (`supervisor`).
- Never outlives the control plane: its standard input is a pipe whose other end only the control
  plane holds, and the server stops when the pipe ends, which the kernel makes happen however the
  control plane dies, SIGKILL included (`process`).
- One server per set of files: a lock beside the SQLite files is held by the owning control plane;
  a second one fails fast, and a server left by a crashed one is found and stopped (`lock`,
  `strays`).

docs/embedded-store.md tells the whole story; docs/adr/0034-supervised-embedded-store.md the why.
"""

from engine.embedded.layout import StoreLayout, store_uri
from engine.embedded.supervisor import (
    FerretSupervisor,
    run_ferretdb,
    start_ferretdb,
    supervised_ferretdb,
)

__all__ = [
    "FerretSupervisor",
    "StoreLayout",
    "run_ferretdb",
    "start_ferretdb",
    "store_uri",
    "supervised_ferretdb",
]
