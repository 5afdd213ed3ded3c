"""Keeps the embedded FerretDB running for as long as the control plane runs.

The first start must succeed (a server that cannot start is a set-up problem, reported at
once with its log). After that, a server that dies is started again on the same socket, after
0.1 s, then doubling up to 2 s while it keeps dying, back to 0.1 s once a run lasted 10 s. The
socket path never changes, so the MongoDB client needs nothing: its pool drops the dead
connections and its next server selection finds the new server. Requests in between answer
503 `store_unavailable` and the operation runner retries, as for any store outage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from engine.embedded.layout import StoreLayout
from engine.embedded.lock import store_lock
from engine.embedded.process import spawn, stop, wait_ready
from engine.embedded.strays import stop_strays
from engine.settings import Settings
from engine.tools import ferretdb_path

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 15.0
RESTART_FIRST_S = 0.1
RESTART_MAX_S = 2.0
STABLE_RUN_S = 10.0


class FerretSupervisor:
    """One FerretDB on `layout`, restarted until `stop`. The caller holds the store's lock."""

    def __init__(self, layout: StoreLayout, binary: Path) -> None:
        self.layout = layout
        self.binary = binary
        self.restarts = 0
        self._lifeline_read, self._lifeline_write = os.pipe()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned_at = 0.0
        self._thread = threading.Thread(target=self._watch, name="ferretdb-supervisor", daemon=True)

    @property
    def uri(self) -> str:
        return self.layout.uri

    @property
    def pid(self) -> int | None:
        """The current server's pid (None between a death and its restart)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the server and wait until it accepts connections, then watch it."""
        proc = self._spawn()
        if proc is None:
            return
        wait_ready(proc, self.layout, READY_TIMEOUT_S)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, then the server (closing the lifeline asks it to stop, too)."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
            os.close(self._lifeline_write)
        if proc is not None:
            stop(proc)
        if self._thread.is_alive():
            self._thread.join()
        os.close(self._lifeline_read)

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            self._proc = spawn(self.binary, self.layout, self._lifeline_read)
            self._spawned_at = time.monotonic()
            return self._proc

    def _watch(self) -> None:
        delay = RESTART_FIRST_S
        proc = self._proc
        while proc is not None:
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - self._spawned_at >= STABLE_RUN_S:
                delay = RESTART_FIRST_S
            log.warning("ferretdb (pid %d) %s; restarting in %.1f s", proc.pid, _death(code), delay)
            if self._stopping.wait(delay):
                return
            proc = self._restart()
            delay = min(delay * 2, RESTART_MAX_S)

    def _restart(self) -> subprocess.Popen[bytes] | None:
        try:
            proc = self._spawn()
        except OSError as exc:  # the binary vanished, no descriptors left…: try again later
            log.error("ferretdb could not be started: %s", exc)
            self._spawned_at = time.monotonic()
            return self._proc
        if proc is not None:
            self.restarts += 1
        return proc


def _death(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.strsignal(-code) or f'signal {-code}'}"
    return f"exited with {code}"


@contextlib.contextmanager
def supervised_ferretdb(root: Path) -> Iterator[FerretSupervisor]:
    """The embedded store in `root`, supervised; stopped on exit. Raises `StoreUnavailable` if
    another process owns the store or the server cannot start."""
    layout = StoreLayout.at(root)
    layout.prepare()
    with store_lock(layout):
        stop_strays(layout)
        supervisor = FerretSupervisor(layout, ferretdb_path())
        try:
            supervisor.start()
            yield supervisor
        finally:
            supervisor.stop()


@contextlib.contextmanager
def run_ferretdb(root: Path) -> Iterator[str]:
    """Runs the embedded store with its SQLite files in `root`; yields its MongoDB URI."""
    with supervised_ferretdb(root) as supervisor:
        yield supervisor.uri


@contextlib.contextmanager
def start_ferretdb(settings: Settings) -> Iterator[str]:
    """The embedded store for `settings`: data under `data_dir/ferretdb`."""
    with run_ferretdb(settings.data_dir / "ferretdb") as uri:
        yield uri
