"""Warm invoke latency: through `/endpoint/{key}` (uvicorn + uvloop + httptools serving the real
app, the local target, a real worker) versus calling the same worker directly.

    uv run python -m bench.invoke [--runtime <one of the registry's>] [--requests 3000] [--rounds 3]

The server runs in its own process (so the client never shares its GIL); the client is a
minimal blocking keep-alive HTTP/1.1 client over one TCP_NODELAY socket, so what is measured is
the server side. Prints a table: p50/p90/p99 per path, requests/s, and the proxy's overhead.
The helpers here (raw client, server process, default specs) are shared by the other benches.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.catalog import DEFAULT_RUNTIME
from engine.net import free_port
from runtimes.registry import names

ROOT = Path(__file__).resolve().parent.parent


def make_spec(
    runtime: str, key: str, code: str | None = None, timeout_ms: int = 3000, auth: str = "none"
) -> Any:
    from tests.fixtures.specs import make_spec as spec  # noqa: PLC0415 (keep the client light)

    return spec(
        runtime,
        code,
        key=key,
        name=f"bench-{runtime}",
        memory_mb=256,
        timeout_ms=timeout_ms,
        concurrency=100,
        auth=auth,
    )


def link_gocache(data_dir: Path) -> None:
    """Share the machine's Go build cache (a fresh GOCACHE recompiles the standard library)."""
    from tests.fixtures.local_targets import link_shared_gocache  # noqa: PLC0415

    link_shared_gocache(data_dir)


# --- a minimal keep-alive client ---------------------------------------------------------
class RawClient:
    """Blocking HTTP/1.1 over one socket: send a GET, read status, headers, Content-Length body.
    `unix`: a Unix socket path (a sandboxed worker) instead of host:port."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float = 10.0,
        unix: str | None = None,
        token: str = "",
    ) -> None:
        if unix is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout_s)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout_s)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")
        self.host = f"{host}:{port}".encode()
        self.auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""

    def get(self, path: str, headers: bytes = b"") -> tuple[int, bytes]:
        """`headers`: extra raw header lines, each ending in CRLF."""
        self.sock.sendall(
            b"GET "
            + path.encode()
            + b" HTTP/1.1\r\nHost: "
            + self.host
            + b"\r\n"
            + self.auth
            + headers
            + b"\r\n"
        )
        status = int(self.reader.readline().split(b" ", 2)[1])
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, self.reader.read(length)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def timed_gets(client: RawClient, path: str, count: int, headers: bytes = b"") -> list[float]:
    """Latencies in milliseconds of `count` sequential GETs (every answer must be 200)."""
    out: list[float] = []
    for _ in range(count):
        started = time.perf_counter_ns()
        status, body = client.get(path, headers)
        out.append((time.perf_counter_ns() - started) / 1e6)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the server process ------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    port: int
    key: str
    worker_port: int | None
    process: subprocess.Popen[str]
    protected_key: str = ""
    """The same function with `auth: token`."""

    token: str = ""
    """An invoker token for it."""
    worker_socket: str | None = None
    """The sandboxed worker's Unix socket (then there is no worker port)."""
    sandbox: str = ""
    admin_token: str = ""
    """For the control-plane routes the benches read (`/lambda/logs`)."""
    control_key: str = ""
    """The same function once more, public: a second worker, to tell worker-to-worker
    differences from what `auth: token` costs."""

    def direct_client(self) -> RawClient:
        """A connection to the function's worker itself, bypassing the control plane."""
        return RawClient("127.0.0.1", self.worker_port or 0, unix=self.worker_socket)


@contextlib.contextmanager
def run_server(
    runtime: str,
    data_dir: Path,
    idle_timeout_s: float = 300.0,
    timeout_ms: int = 3000,
    settings: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A uvicorn (uvloop, httptools) serving the real app over a local target, one function
    deployed; stopped with SIGINT so the target closes its workers. `settings`: more
    LAMBDACLONE_* variables (`{"SANDBOX": "off"}`)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.invoke", "serve", runtime, str(data_dir), str(port)]
    argv.append(str(timeout_ms))
    env = {**os.environ, "LAMBDACLONE_IDLE_TIMEOUT_S": str(idle_timeout_s)}
    env |= {f"LAMBDACLONE_{name}": value for name, value in (settings or {}).items()}
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the bench server did not start")
        info = json.loads(line)
        _wait_port(port)
        yield Server(
            port,
            info["key"],
            info["worker_port"],
            proc,
            info["protected_key"],
            info["token"],
            info["worker_socket"],
            info["sandbox"],
            info["admin_token"],
            info["control_key"],
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


def serve(runtime: str, data_dir: Path, port: int, timeout_ms: int) -> None:
    import uvicorn  # noqa: PLC0415
    import uvloop  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415
    from api.proxy import InvokeProxy  # noqa: PLC0415
    from engine.keys import new_key  # noqa: PLC0415
    from engine.local.target import LocalTarget  # noqa: PLC0415
    from engine.settings import Settings  # noqa: PLC0415
    from engine.traffic import Traffic  # noqa: PLC0415
    from tests.fixtures.invoke_app import memory_access, uvicorn_config  # noqa: PLC0415
    from tests.fixtures.local_targets import ephemeral_keyring  # noqa: PLC0415

    link_gocache(data_dir)
    settings = Settings(data_dir=data_dir, mongodb_uri="mongodb://unused.invalid")
    traffic = Traffic()
    target = LocalTarget(settings, traffic, ephemeral_keyring())
    spec = make_spec(runtime, new_key(), timeout_ms=timeout_ms)
    protected = make_spec(runtime, new_key(), timeout_ms=timeout_ms, auth="token")
    control = make_spec(runtime, new_key(), timeout_ms=timeout_ms)
    access = memory_access()
    _, token = asyncio.run(access.create("bench", "invoker", (protected.key,)))
    _, admin_token = asyncio.run(access.create("bench-admin", "admin"))
    try:
        target.apply(spec, lambda _line: None)
        target.apply(protected, lambda _line: None)
        target.apply(control, lambda _line: None)
        status = target.status(spec.key)
        info = {
            "key": spec.key,
            "worker_port": status["port"],
            "worker_socket": status["socket"],
            "sandbox": status["sandbox"],
            "protected_key": protected.key,
            "control_key": control.key,
        }
        print(json.dumps({**info, "token": token, "admin_token": admin_token}), flush=True)
        app = create_app(settings, target=target)
        # No lifespan: it would connect the store. The invoke route needs only the platform's
        # proxy (started and closed here, as the platform's lifespan does).
        proxy = InvokeProxy(target, traffic, access, settings)
        app.state.platform = SimpleNamespace(
            settings=settings, target=target, proxy=proxy, access=access
        )
        config = uvicorn_config(app, port, lifespan="off")
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled
            uvloop.run(_serve(uvicorn.Server(config), proxy))
    finally:
        target.close()


async def _serve(server: Any, proxy: Any) -> None:
    await proxy.start()
    try:
        await server.serve()
    finally:
        await proxy.close()


# --- the benchmark -----------------------------------------------------------------------
def measure(runtime: str, requests: int, rounds: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp,
        run_server(runtime, Path(tmp)) as s,
    ):
        path = f"/endpoint/{s.key}/bench?name=value"
        direct, proxied = s.direct_client(), RawClient("127.0.0.1", s.port)
        timed_gets(direct, path, 300)
        timed_gets(proxied, path, 300)
        results: dict[str, list[float]] = {"direct": [], "proxy": []}
        walls: dict[str, float] = {"direct": 0.0, "proxy": 0.0}
        for _ in range(rounds):
            for name, client in (("direct", direct), ("proxy", proxied)):
                started = time.perf_counter()
                results[name] += timed_gets(client, path, requests)
                walls[name] += time.perf_counter() - started
        paired = _paired(direct, proxied, path, requests)
        direct.close()
        proxied.close()
        sandbox = s.sandbox
    _print_table(runtime, requests, rounds, results, walls)
    print(f"worker sandbox: {sandbox} (LAMBDACLONE_SANDBOX=off for a plain worker on a port)")
    print(
        f"interleaved ({requests} pairs: direct, then proxy, same moment): "
        f"p50 {percentile(paired['direct'], 50):.3f} vs {percentile(paired['proxy'], 50):.3f}"
        f" → overhead {percentile(paired['proxy'], 50) - percentile(paired['direct'], 50):.3f};"
        f" p99 {percentile(paired['direct'], 99):.3f} vs {percentile(paired['proxy'], 99):.3f}"
        f" → overhead {percentile(paired['proxy'], 99) - percentile(paired['direct'], 99):.3f}"
    )


def _paired(direct: RawClient, proxied: RawClient, path: str, count: int) -> dict[str, list[float]]:
    """Each direct request immediately followed by one through the proxy, so both series see
    the same background load (this machine is shared)."""
    out: dict[str, list[float]] = {"direct": [], "proxy": []}
    for _ in range(count):
        out["direct"] += timed_gets(direct, path, 1)
        out["proxy"] += timed_gets(proxied, path, 1)
    return out


def _print_table(
    runtime: str,
    requests: int,
    rounds: int,
    results: dict[str, list[float]],
    walls: dict[str, float],
) -> None:
    print(f"\nwarm invoke, {runtime} worker: {rounds} x {requests} sequential keep-alive GETs")
    print(f"{'path':<28}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>9}")
    rows = {}
    for name, label in (("direct", "worker directly"), ("proxy", "/endpoint via control plane")):
        values = results[name]
        row = [percentile(values, q) for q in (50, 90, 99)] + [statistics.fmean(values)]
        rows[name] = row
        rate = len(values) / walls[name]
        print(f"{label:<28}" + "".join(f"{v:>9.3f}" for v in row) + f"{rate:>9.0f}")
    overhead = [p - d for p, d in zip(rows["proxy"], rows["direct"], strict=True)]
    print(f"{'overhead (proxy - direct)':<28}" + "".join(f"{v:>9.3f}" for v in overhead))
    print("targets: overhead p50 <= 0.500 ms, p99 <= 2.000 ms")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=names(), default=DEFAULT_RUNTIME[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    measure(args.runtime, args.requests, args.rounds)


if __name__ == "__main__":
    main()
