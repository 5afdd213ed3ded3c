"""Starting and watching the function's `bootstrap` process (the runtime of a `provided`
function, or a Go `lambda.Start` program), as Lambda's init phase does.

A bootstrap that is a script without the execute bit (code uploaded as one text file) is run
by the interpreter its `#!` line names. It is started in its own session, so a timeout can
stop it and every process it started; it dies with the worker (PR_SET_PDEATHSIG, which fires
when the *thread* that started it ends: so one long-lived thread starts every bootstrap).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class BootstrapError(Exception):
    """The bootstrap cannot be started (missing, not executable, no interpreter)."""


def command(path: Path) -> list[str]:
    """argv running `path`: itself when executable, else through its `#!` interpreter."""
    if not path.is_file():
        raise BootstrapError(f"cannot find the bootstrap: {path} does not exist")
    if os.access(path, os.X_OK):
        return [str(path)]
    with path.open("rb") as file:
        first = file.readline(256)
    if not first.startswith(b"#!"):
        raise BootstrapError(f"{path.name} is not executable and has no #! line")
    interpreter = shlex.split(first[2:].decode("utf-8", errors="replace"))
    if not interpreter:
        raise BootstrapError(f"{path.name} has an empty #! line")
    return [*interpreter, str(path)]


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    """One bootstrap process at a time; `on_exit(status)` runs when one ends by itself."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str], cwd: str, on_exit: Callable[[int], None]
    ) -> None:
        self.argv = argv
        self.env = dict(env)
        self.cwd = cwd
        self.on_exit = on_exit
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bootstrap")

    def start(self) -> None:
        self._spawner.submit(self._spawn).result()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping:
                return
            try:
                process = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 (only prctl; no locks taken)
                )
            except OSError as exc:
                raise BootstrapError(f"cannot start {self.argv[0]}: {exc.strerror}") from exc
            self._process = process
        threading.Thread(target=self._watch, args=(process,), daemon=True).start()

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        status = process.wait()
        with self._lock:
            replaced = self._process is not process or self._stopping
        if not replaced:
            self.on_exit(status)

    def restart(self) -> None:
        """Stop the running bootstrap (a timed-out invocation) and start a fresh one."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            _kill_group(process)
        self.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            process = self._process
        if process is not None:
            _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
