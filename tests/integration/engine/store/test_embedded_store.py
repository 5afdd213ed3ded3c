"""The embedded store on real FerretDB processes: reachable by its owner only, restarted when it
dies, gone when its owner dies, and one server per set of SQLite files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from engine.embedded import StoreLayout, supervised_ferretdb
from engine.embedded.strays import find_strays
from engine.errors import StoreUnavailable
from engine.net import free_port
from engine.tools import REPO_ROOT, ferretdb_path
from tests.integration.engine.store.processes import REQUIRED_RECOVERY_S, exits, tcp_listeners

Doc = dict[str, object]


def test_only_its_owner_can_reach_it(world_readable_dir: Path) -> None:
    with supervised_ferretdb(world_readable_dir / "store") as store:
        sock = store.layout.socket
        assert store.pid is not None
        assert stat.S_ISSOCK(sock.stat().st_mode)
        assert _private(sock.parent) and stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0
        assert tcp_listeners(store.pid) == set()
        with pymongo.MongoClient[Doc](store.uri, serverSelectionTimeoutMS=3000) as client:
            client.t.c.insert_one({"_id": "mine"})
            assert client.t.c.find_one() == {"_id": "mine"}
        if os.geteuid() != 0:
            pytest.skip("acting as another user needs root")
        # `nobody` may enter the parent (the test could fail) but not the store's directory
        assert _as_nobody(sock) == {"lists_parent": True, "connect": "PermissionError"}


def test_a_deep_data_dir_gets_its_socket_in_a_private_temp_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with supervised_ferretdb(deep) as store:
        sock = store.layout.socket
        assert sock.parent == Path(tempfile.gettempdir()) / f"lambdaclone-{os.geteuid()}"
        assert _private(sock.parent)
        with pymongo.MongoClient[Doc](store.uri, serverSelectionTimeoutMS=3000) as client:
            client.t.c.insert_one({"_id": "deep"})
        assert (deep / "t.sqlite").is_file(), "the SQLite files stay in the store's directory"
    assert not sock.exists()


def test_kill_9_recovers_by_itself(tmp_path: Path) -> None:
    with (
        supervised_ferretdb(tmp_path / "store") as store,
        pymongo.MongoClient[Doc](store.uri, serverSelectionTimeoutMS=500) as client,
    ):
        client.t.c.insert_one({"_id": "kept"})
        took = []
        for _ in range(3):
            killed = store.pid
            assert killed is not None
            os.kill(killed, signal.SIGKILL)
            took.append(_until_answers(client))
            assert store.pid not in (None, killed)
        assert store.restarts == 3
        assert client.t.c.find_one() == {"_id": "kept"}
    print(f"\nstore answers again after kill -9 in: {', '.join(f'{t:.2f} s' for t in took)}")


def test_a_second_server_on_the_same_files_is_refused(tmp_path: Path) -> None:
    with supervised_ferretdb(tmp_path / "store") as first:
        expected = rf"in use by another control plane \(pid {os.getpid()}\)"
        with (
            pytest.raises(StoreUnavailable, match=expected),
            supervised_ferretdb(tmp_path / "store"),
        ):
            pass
        assert find_strays(first.layout) == [first.pid]
        with pymongo.MongoClient[Doc](first.uri, serverSelectionTimeoutMS=3000) as client:
            assert client.admin.command("ping")["ok"] == 1


def test_a_server_left_behind_is_stopped_at_start(tmp_path: Path) -> None:
    """As an older release left it: a FerretDB on TCP, without a lifeline, outliving its owner."""
    layout = StoreLayout.at(tmp_path / "store")
    layout.prepare()
    port = free_port()
    left = subprocess.Popen(
        [ferretdb_path(), f"-listen-addr=127.0.0.1:{port}", f"-sqlite-url={layout.sqlite_url}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with pymongo.MongoClient[Doc](f"mongodb://127.0.0.1:{port}/") as old:
            old.t.c.insert_one({"_id": "written by the old server"})
        assert tcp_listeners(left.pid), "the listener check sees a TCP listener"
        with supervised_ferretdb(layout.root) as store:
            assert left.poll() is not None, "the server left behind was stopped"
            assert find_strays(layout) == [store.pid]
            with pymongo.MongoClient[Doc](store.uri, serverSelectionTimeoutMS=3000) as client:
                assert client.t.c.find_one() == {"_id": "written by the old server"}
    finally:
        left.kill()
        left.wait()


OWNER = """
import sys, time
from pathlib import Path
from engine.embedded import supervised_ferretdb
with supervised_ferretdb(Path(sys.argv[1])) as store:
    print(store.pid, flush=True)
    time.sleep(600)
"""


def test_it_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "store")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        store = os.pidfd_open(int(owner.stdout.readline()))
        try:
            owner.kill()
            started = time.monotonic()
            assert exits(store, timeout_s=30), "the store outlived its owner"
        finally:
            os.close(store)
        print(f"\nstore gone {time.monotonic() - started:.2f} s after SIGKILL of its owner")
        assert find_strays(StoreLayout.at(tmp_path / "store")) == []
    finally:
        owner.kill()
        owner.wait()


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory anyone may enter (tmp_path's ancestors are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="lc-store-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _private(path: Path) -> bool:
    info = path.lstat()
    return stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()


def _until_answers(client: pymongo.MongoClient[Doc]) -> float:
    started = time.monotonic()
    while True:
        try:
            client.t.c.find_one()
        except pymongo.errors.PyMongoError:
            assert time.monotonic() - started < REQUIRED_RECOVERY_S, "the store did not come back"
            time.sleep(0.01)
            continue
        took = time.monotonic() - started
        assert took < REQUIRED_RECOVERY_S, f"the store answered again only after {took:.1f} s"
        return took


NOBODY = """
import json, os, socket, sys
sock = sys.argv[1]
result = {"lists_parent": bool(os.listdir(os.path.dirname(os.path.dirname(sock))))}
try:
    socket.socket(socket.AF_UNIX).connect(sock)
    result["connect"] = "connected"
except OSError as exc:
    result["connect"] = type(exc).__name__
print(json.dumps(result))
"""


def _as_nobody(sock: Path) -> dict[str, object]:
    done = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", NOBODY, str(sock)],
        user=65534,
        group=65534,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result
