"""Pre-started workers ("spares") for runtimes whose driver supports it (`Prewarm`): they take
the interpreter start and the wrapper's imports off a cold start. One idle spare waits per
runtime; a start takes it and a new one is started behind it.

A spare is a direct child (a `Popen`), so once handed its configuration it is supervised like
any spawned worker. It is only used when nothing in the function's environment matters to the
interpreter at start-up (`Prewarm.can_configure`); otherwise the worker is spawned.
Spares have pid files under `<data_dir>/local/spares/` so recovery can kill orphans.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from engine.local import process
from runtimes.driver import Prewarm


class SparePool:
    """At most one idle spare; thread-safe."""

    def __init__(
        self, prewarm: Prewarm, argv: list[str], env: Mapping[str, str], pid_dir: Path
    ) -> None:
        self.prewarm = prewarm
        self._argv = tuple(prewarm.argv(argv))
        self._env = dict(env)
        self._pid_dir = pid_dir
        self._spare: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def pid(self) -> int | None:
        with self._lock:
            return self._spare.pid if self._spare is not None else None

    def take(self) -> subprocess.Popen[bytes] | None:
        """The idle spare (the caller now owns it), or None; a new one is started behind it."""
        with self._lock:
            spare, self._spare = self._spare, None
        self.fill()
        if spare is None:
            return None
        process.remove_pid_file(self._pid_file(spare.pid))
        if spare.poll() is not None:
            return None
        return spare

    def fill(self) -> None:
        """Start a spare in the background unless one is waiting."""
        with self._lock:
            if self._spare is not None or self._closed:
                return
        threading.Thread(target=self._start, name="lambdaclone-spare", daemon=True).start()

    def _start(self) -> None:
        self._pid_dir.mkdir(parents=True, exist_ok=True)
        spare = subprocess.Popen(
            self._argv,
            cwd=self._pid_dir,
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        process.write_pid_record(self._pid_file(spare.pid), spare.pid, port=0, deployment="spare")
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare = spare
                return
        self._discard(spare)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            self._discard(spare)

    def _discard(self, spare: subprocess.Popen[bytes]) -> None:
        if spare.stdin is not None:
            spare.stdin.close()  # EOF: the spare exits by itself
        try:
            spare.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            spare.kill()
            spare.wait()
        for stream in (spare.stdout, spare.stderr):
            if stream is not None:
                stream.close()
        process.remove_pid_file(self._pid_file(spare.pid))

    def _pid_file(self, pid: int) -> Path:
        return self._pid_dir / f"{pid}.json"
