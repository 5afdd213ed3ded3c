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

Installed dependency sets (`artifacts/deps/<digest>/`, `build.dependency_key`) are counted the
same way; deployments hold hard links to their files, so removing one only costs a rebuild.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from engine.local import build
from engine.local.dependencies import DEPS
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
        keys = _keys(spec)
        with self._lock:
            self._pinned.update(keys)
        try:
            yield
        finally:
            with self._lock:
                self._pinned.subtract(keys)
                for key in keys:
                    if self._pinned[key] <= 0:
                        del self._pinned[key]

    def prune(self) -> list[str]:
        """Remove every artifact no active deployment and no apply in progress uses; returns
        the removed digests."""
        with self._lock:
            keep = set(self._pinned) | self._digests(self._active_specs())
            removed = [digest for digest in self._cached_digests() if digest not in keep]
            for key in removed:
                shutil.rmtree(self._layout.artifacts / key, ignore_errors=True)
                # No builder can be waiting on this lock file: builders pin first (same lock).
                lock = key.replace("/", "-")
                (self._layout.artifacts / build.LOCKS / lock).unlink(missing_ok=True)
        return removed

    @staticmethod
    def _digests(specs: Iterable[FunctionSpec]) -> set[str]:
        return {key for spec in specs for key in _keys(spec)}

    def _cached_digests(self) -> list[str]:
        cache = self._layout.artifacts
        found = [p.name for p in _dirs(cache) if _DIGEST.match(p.name)]
        found += [f"{DEPS}/{p.name}" for p in _dirs(cache / DEPS) if _DIGEST.match(p.name)]
        return sorted(found)


def _keys(spec: FunctionSpec) -> list[str]:
    """The artifacts entries `spec` uses: its build output and its dependency set."""
    return [k for k in (build.artifact_digest(spec), build.dependency_key(spec)) if k is not None]


def _dirs(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.is_dir()] if path.is_dir() else []
