"""The embedded store: a FerretDB process (MongoDB wire protocol over SQLite) under the data dir.

Used when no `LAMBDACLONE_MONGODB_URI` is configured, so `make run` needs no database set-up;
the test suite starts the same process. Production points at a real MongoDB instead.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from engine.errors import StoreUnavailable
from engine.net import free_port
from engine.settings import Settings
from engine.tools import tool_path

READY_TIMEOUT_S = 15.0


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StoreUnavailable(f"ferretdb exited with {proc.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise StoreUnavailable(f"ferretdb did not listen on {port} in {READY_TIMEOUT_S}s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextlib.contextmanager
def run_ferretdb(data_dir: Path, port: int | None = None) -> Iterator[str]:
    """Runs FerretDB storing its SQLite files in `data_dir`; yields the MongoDB URI."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "ferretdb.log"
    with log.open("ab") as log_file:
        proc = subprocess.Popen(
            [
                str(tool_path("ferretdb")),
                f"-listen-addr=127.0.0.1:{port}",
                f"-sqlite-url=file:{data_dir}/",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )
    try:
        _wait_listening(port, proc, log)
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def start_ferretdb(settings: Settings) -> Iterator[str]:
    """The embedded store for `settings`: data under `data_dir/ferretdb`."""
    with run_ferretdb(settings.data_dir / "ferretdb") as uri:
        yield uri
