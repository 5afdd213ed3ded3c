"""Every wrapper serves on a Unix socket when told to (`LAMBDA_SOCKET`, how the local target's
sandboxed workers listen): health, an invocation, the event's source address, keep-alive, and
no TCP port at all."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.wrapper_harness import HEALTH, build_go, start_worker

pytestmark = pytest.mark.timeout(180)

SOURCE_IP = {
    "python": (
        "app.py",
        """
        def handler(event, context):
            return {"ip": event["requestContext"]["http"]["sourceIp"]}
        """,
    ),
    "node": (
        "app.mjs",
        "export const handler = async (event) => ({ ip: event.requestContext.http.sourceIp });\n",
    ),
}


def _listening_tcp_ports(pid: int) -> list[str]:
    """TCP sockets `pid` listens on (state 0A in /proc/net/tcp, matched by socket inode)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                listening.append(fields[1])
    return listening


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_an_interpreted_wrapper_serves_on_a_unix_socket(tmp_path: Path, runtime: str) -> None:
    filename, source = SOURCE_IP[runtime]
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / filename).write_text(textwrap.dedent(source).lstrip())
    path = str(tmp_path / "http.sock")
    worker = start_worker(
        runtime, code_dir, tmp_path / "work", handler="app.handler", socket_path=path
    )
    try:
        assert worker.wait_healthy().status == 200
        first = worker.get("/x", headers={"x-forwarded-for": "203.0.113.9"})
        assert first.status == 200
        assert first.json()["ip"] == "203.0.113.9"
        plain = worker.get("/y")  # same connection (keep-alive), no forwarded hop: a local peer
        assert plain.status == 200 and plain.json()["ip"] == "127.0.0.1"
        assert _listening_tcp_ports(worker.process.pid) == []
    finally:
        worker.stop()


def test_the_go_wrapper_serves_on_a_unix_socket(tmp_path: Path) -> None:
    code_dir, work_dir = tmp_path / "code", tmp_path / "work"
    code_dir.mkdir()
    default = Path(__file__).parents[3] / "runtimes" / "golang" / "default" / "handler.go"
    (code_dir / "handler.go").write_text(default.read_text())
    built = build_go(code_dir, work_dir, "handler.handler")
    assert built.returncode == 0, built.stderr
    path = str(tmp_path / "http.sock")
    worker = start_worker("golang", code_dir, work_dir, socket_path=path)
    try:
        assert worker.wait_healthy().status == 200
        reply = worker.get("/?who=me")
        assert reply.status == 200 and reply.json()["params"] == {"who": ["me"]}
        assert worker.get(HEALTH).status == 200
        assert _listening_tcp_ports(worker.process.pid) == []
    finally:
        worker.stop()
