"""Which build outputs (`artifacts/<digest>/`) are still needed, and pruning the others.

An artifact is shared by every deployment whose runtime, code, handler and build inputs have
the same digest (`build.artifact_digest`), so it is counted, not owned: it is needed while an
active deployment uses its digest, or while an `apply` is preparing it (*pinned*: built but not
yet active). Pruning and pinning hold one lock, and the set of active specs is read under it,
so an artifact is never removed between its build and the switch that makes it active. Called
after `destroy`, after an `apply` (an update may leave the previous one unused) and by
`recover`.

A worker that is still running keeps its executable's inode: removing the file does not
disturb it, and a later restart of an active function finds its (referenced) artifact.
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


class Artifacts:
    """Reference counting of the artifact cache; thread-safe."""

    def __init__(self, layout: Layout, active_specs: ActiveSpecs) -> None:
        self._layout = layout
        self._active_specs = active_specs
        self._lock = threading.Lock()
        self._pinned: Counter[str] = Counter()

    @contextlib.contextmanager
    def pinned(self, spec: FunctionSpec) -> Iterator[None]:
        """Keep `spec`'s artifact while the block runs (nothing to keep if it builds none)."""
        digest = build.artifact_digest(spec)
        if digest is None:
            yield
            return
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
        """Remove every artifact no active deployment and no apply in progress uses; returns
        the removed digests."""
        with self._lock:
            keep = set(self._pinned) | self._digests(self._active_specs())
            removed = [digest for digest in self._cached_digests() if digest not in keep]
            for digest in removed:
                shutil.rmtree(self._layout.artifact_dir(digest), ignore_errors=True)
                # No builder can be waiting on this lock file: builders pin first (same lock).
                (self._layout.artifacts / build.LOCKS / digest).unlink(missing_ok=True)
        return removed

    @staticmethod
    def _digests(specs: Iterable[FunctionSpec]) -> set[str]:
        return {d for d in map(build.artifact_digest, specs) if d is not None}

    def _cached_digests(self) -> list[str]:
        cache = self._layout.artifacts
        if not cache.is_dir():
            return []
        return sorted(p.name for p in cache.iterdir() if _DIGEST.match(p.name) and p.is_dir())
