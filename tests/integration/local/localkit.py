"""Helpers shared by the local-target and invoke integration tests (real worker processes)."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.local.target import LocalTarget
from engine.settings import Settings
from engine.spec import FunctionSpec, Limits, RuntimeName

ROOT = Path(__file__).resolve().parents[3]
EXTENSIONS = {"python": "py", "node": "mjs", "golang": "go"}
VERSIONS = {"python": "3.12", "node": "20", "golang": "1.22"}

PY_ECHO = """\
import json, os, sys, time

def handler(event, context):
    qs = event.get("queryStringParameters") or {}
    if "sleep" in qs:
        time.sleep(float(qs["sleep"]))
    if "crash" in qs:
        os._exit(3)
    if "alloc" in qs:
        hold = bytearray(int(qs["alloc"]) * 1024 * 1024)
        for i in range(0, len(hold), 4096):
            hold[i] = 1
        time.sleep(5)
    if "say" in qs:
        print("to stdout:", qs["say"])
        print("to stderr:", qs["say"], file=sys.stderr)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-from": "python"},
        "body": json.dumps({
            "version": os.environ.get("ECHO_VERSION", "v1"),
            "method": event["requestContext"]["http"]["method"],
            "path": event["rawPath"],
            "query": event["rawQueryString"],
            "headers": event["headers"],
            "body": event.get("body"),
            "isBase64Encoded": event.get("isBase64Encoded"),
            "requestId": context.aws_request_id,
        }),
    }
"""

NODE_SPIN = """\
export default function handler(req, res) {
  if (req.query.spin) { for (;;) {} }
  res.status(200).json({ ok: true, pid: process.pid });
}
"""


def default_code(runtime: str) -> str:
    path = ROOT / "runtimes" / runtime / "default" / f"handler.{EXTENSIONS[runtime]}"
    return path.read_text()


def make_spec(
    runtime: RuntimeName = "python",
    code: str | None = None,
    *,
    key: str | None = None,
    env: dict[str, str] | None = None,
    **limits: int,
) -> FunctionSpec:
    return FunctionSpec(
        key=key or f"t{uuid.uuid4().hex[:10]}",
        name=f"test-{runtime}",
        runtime=runtime,
        version=VERSIONS[runtime],
        handler="handler.handler",
        code=code if code is not None else default_code(runtime),
        image=f"lambdaclone/{runtime}:{VERSIONS[runtime]}",
        env=tuple(sorted((env or {}).items())),
        limits=Limits(**limits),
    )


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "mongodb_uri": "mongodb://unused.invalid",
        "worker_start_timeout_s": 20.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def link_shared_gocache(data_dir: Path) -> None:
    """Point the target's GOCACHE at the machine's Go build cache (the standard library is
    compiled once per machine, not once per test)."""
    gocache = subprocess.run(
        ["go", "env", "GOCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    link = data_dir / "local" / "gocache"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(gocache, target_is_directory=True)


def wait_until(predicate: Callable[[], object], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it exited between the two looks
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def worker_pid(target: LocalTarget, key: str) -> int | None:
    pid = target.status(key)["pid"]
    return pid if isinstance(pid, int) else None


def get(host: str, port: int, path: str, timeout_s: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout_s) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())


TargetFactory = Callable[..., LocalTarget]


@pytest.fixture
def make_target(data_dir: Path) -> Iterator[TargetFactory]:
    """LocalTargets over the test's data dir (settings overridable); all closed afterwards."""
    made: list[LocalTarget] = []

    def factory(**overrides: object) -> LocalTarget:
        link_shared_gocache(data_dir)
        target = LocalTarget(make_settings(data_dir, **overrides))
        made.append(target)
        return target

    yield factory
    for target in reversed(made):
        target.close()
