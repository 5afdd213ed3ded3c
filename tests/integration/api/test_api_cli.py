"""The `lambdaclone` CLI: client commands against the real app, and `serve` stopping on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from engine.net import free_port
from tests.fixtures.api import AUTH, NODE_CODE


def run(client: TestClient, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv), client=client)
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_client_commands(
    client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "handler.mjs"
    source.write_text(NODE_CODE)
    code, out = run(client, capsys, "create", "cli-fn", str(source), "--env", "A=1", "--wait")
    assert code == 0, out
    key = json.loads(out)["function"]["key"]
    code, out = run(client, capsys, "get", key)
    assert code == 0 and json.loads(out)["env"] == {"A": "1"}
    code, out = run(client, capsys, "list")
    assert [f["key"] for f in json.loads(out)["items"]] == [key]
    source.write_text(NODE_CODE + "// v2\n")
    code, out = run(client, capsys, "update", key, "--file", str(source), "--preview")
    assert code == 0 and json.loads(out)["changed"] is True
    code, out = run(client, capsys, "update", key, "--name", "cli-fn-2", "--wait")
    assert code == 0 and json.loads(out)["function"]["name"] == "cli-fn-2"
    code, out = run(client, capsys, "delete", key, "--wait")
    assert code == 0 and json.loads(out)["function"]["disabled"] is True
    code, err = run(client, capsys, "get", key)
    assert code == 1 and err.startswith("error 404 function_not_found")


def test_serve_stops_cleanly_on_ctrl_c(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LAMBDACLONE_MONGODB_URI": mongo_uri,
        "LAMBDACLONE_DATABASE": mongo_db_name,
        "LAMBDACLONE_DATA_DIR": str(tmp_path),
        "LAMBDACLONE_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_serving(f"http://127.0.0.1:{port}/lambda/runtimes", server)
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=30)
        assert server.returncode == 0, out.decode()
        assert b"Application shutdown complete" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _wait_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        try:
            if httpx.get(url, timeout=1, headers=AUTH).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not come up")


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--url", url, "list"]) == 2
    assert capsys.readouterr().err.startswith(f"cannot reach {url}")
