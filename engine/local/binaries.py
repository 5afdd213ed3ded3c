"""Which compiled Go workers (`go-cache/<digest>/`) are still needed, and pruning the others.

A binary is shared by every function whose code, handler and wrapper have the same digest
(`build.go_digest`), so it is counted, not owned: it is needed while an active function uses
its digest, or while an `apply` is preparing it (*pinned*: built but not yet active). Pruning
and pinning hold one lock, and the set of active specs is read under it, so a binary is never
removed between its build and the switch that makes it active. Called after `destroy`,
after an `apply` (an update may leave the previous binary unused) and by `recover`.

A worker that is still running keeps its executable's inode: removing the file does not
disturb it, and a later restart of an active function finds its (referenced) binary.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from engine.local import build
from engine.local.layout import Layout
from engine.spec import FunctionSpec

_DIGEST = re.compile(r"^[0-9a-f]{64}$")

ActiveSpecs = Callable[[], Iterable[FunctionSpec]]


class GoBinaries:
    """Reference counting of the Go binary cache; thread-safe."""

    def __init__(self, layout: Layout, active_specs: ActiveSpecs) -> None:
        self._layout = layout
        self._active_specs = active_specs
        self._lock = threading.Lock()
        self._pinned: Counter[str] = Counter()

    @contextlib.contextmanager
    def pinned(self, spec: FunctionSpec) -> Iterator[None]:
        """Keep `spec`'s binary while the block runs (nothing to keep for other runtimes)."""
        if spec.runtime != "golang":
            yield
            return
        digest = build.go_digest(spec)
        with self._lock:
            self._pinned[digest] += 1
        try:
            yield
        finally:
            with self._lock:
                self._pinned[digest] -= 1
                if self._pinned[digest] <= 0:
                    del self._pinned[digest]

    def prune(self) -> list[str]:
        """Remove every binary no active function and no apply in progress uses; returns the
        removed digests."""
        with self._lock:
            keep = set(self._pinned) | build.go_digests(self._active_specs())
            removed = [digest for digest in self._cached_digests() if digest not in keep]
            for digest in removed:
                shutil.rmtree(self._layout.go_binary_dir(digest), ignore_errors=True)
                # No builder can be waiting on this lock file: builders pin first (same lock).
                (self._layout.go_cache / ".locks" / digest).unlink(missing_ok=True)
        return removed

    def _cached_digests(self) -> list[str]:
        cache = self._layout.go_cache
        if not cache.is_dir():
            return []
        return sorted(p.name for p in cache.iterdir() if _DIGEST.match(p.name) and p.is_dir())
