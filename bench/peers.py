"""The invoke hop against a reference hop (`make bench-peers`): for python and node workers, in
one interleaved run, the worker called directly, the worker behind a Go standard-library
reverse proxy (`bench/peers/goproxy`, the kind of hop a watchdog in http mode is), the worker
behind lambdaclone's `/endpoint/{key}` served by the Python control plane, and the same behind
lambdaclone's Go data plane (`data_plane = "go"`, api/dataplane: the binary the control plane
supervises, given the route the control plane pushes for this worker).

    uv run python -m bench.peers [--runtimes python node] [--seconds 3] [--rounds 2]

Every system is driven by the same Go load generator (`bench/peers/loadgen`), built with the
pinned Go into the cache outside the repo (keyed by the sources' hash). Prints sequential
p50/p99 and their overhead over the direct call, requests/s at 1, 8, 32 and 64 clients
(medians over the rounds), the load average, and, last, the throughput ratios against the Go
proxy at 32 clients.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.dataplane.build import built_binary
from bench.invoke import Server, run_server
from engine.net import free_port
from engine.tools import cache_dir, pinned_versions

HERE = Path(__file__).resolve().parent / "peers"
CLIENTS = (1, 8, 32, 64)
GO_PLANE = "lambdaclone (go data plane)"
SYSTEMS = ("direct", "go proxy", "lambdaclone", GO_PLANE)


@dataclass(frozen=True)
class Endpoint:
    url: str
    unix: str | None = None


def build_tools() -> Path:
    """`loadgen` and `goproxy`, built once per source hash with the pinned Go."""
    sources = [*sorted(HERE.rglob("*.go")), HERE / "go.mod"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    out = cache_dir().parent / "bench-peers" / digest
    if not (out / ".complete").is_file():
        version = pinned_versions()["GO_RUNTIME_VERSION"]
        go = cache_dir() / "runtimes" / f"go-{version}" / "bin" / "go"
        env = {**os.environ, "CGO_ENABLED": "0", "GOPROXY": "off", "GOFLAGS": "-mod=mod"}
        subprocess.run([str(go), "build", "-o", f"{out}/", "./..."], cwd=HERE, env=env, check=True)
        (out / ".complete").touch()
    return out


def load(
    tools: Path, target: Endpoint, clients: int, *, seconds: float = 0, total: int = 0
) -> dict[str, float]:
    argv = [str(tools / "loadgen"), "-url", target.url, "-c", str(clients)]
    argv += ["-n", str(total)] if total else ["-d", f"{seconds}s"]
    if target.unix:
        argv += ["-unix", target.unix]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    if result["failures"]:
        raise SystemExit(
            f"{target.url}: {result['failures']} failed requests of {result['requests']}"
        )
    return result


@contextmanager
def go_proxy(tools: Path, server: Server) -> Iterator[Endpoint]:
    port = free_port()
    argv = [str(tools / "goproxy"), "-listen", f"127.0.0.1:{port}"]
    if server.worker_socket:
        argv += ["-upstream", "http://worker", "-unix", server.worker_socket]
    else:
        argv += ["-upstream", f"http://127.0.0.1:{server.worker_port}"]
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield Endpoint(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def go_data_plane(server: Server) -> Iterator[Endpoint]:
    """lambdaclone's data plane with the route the control plane would push for the worker,
    falling back to the bench's control plane (if the worker is replaced mid-run, as a
    timeout on a loaded machine can do, its calls go there, as they would in `serve`)."""
    port = free_port()
    argv = [str(built_binary()), f"-listen=127.0.0.1:{port}"]
    argv.append(f"-fallback=127.0.0.1:{server.port}")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if b"ready" not in proc.stdout.readline():
            raise SystemExit("the go data plane did not start")
        upstream: dict[str, object] = {"socket": server.worker_socket or "", "host": "127.0.0.1"}
        upstream |= {"port": server.worker_port or 0, "prefix": f"/endpoint/{server.key}"}
        route = {"id": "bench", "timeout_ms": 3000, "concurrency": 100, "auth": "none", **upstream}
        proc.stdin.write(json.dumps({"routes": {server.key: route}}).encode() + b"\n")
        proc.stdin.flush()
        time.sleep(0.2)
        yield Endpoint(f"http://127.0.0.1:{port}")
    finally:
        proc.stdin.close()  # it exits when its control channel closes
        proc.wait()


def endpoints(server: Server, proxy: Endpoint, plane: Endpoint) -> dict[str, Endpoint]:
    path = f"/endpoint/{server.key}/bench?name=value"
    worker = f"http://127.0.0.1:{server.worker_port or 0}"
    return {
        "direct": Endpoint(worker + path, server.worker_socket),
        "go proxy": Endpoint(proxy.url + path),
        "lambdaclone": Endpoint(f"http://127.0.0.1:{server.port}{path}"),
        GO_PLANE: Endpoint(plane.url + path),
    }


def measure(
    tools: Path, runtime: str, seconds: float, rounds: int, sequential: int
) -> dict[str, dict[str, float]]:
    """One runtime: {system: {"p50", "p99", "c1", "c8", …}} (medians over the rounds)."""
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in SYSTEMS}
    with (
        tempfile.TemporaryDirectory(prefix="lc-peers-") as tmp,
        run_server(runtime, Path(tmp)) as server,
        go_proxy(tools, server) as proxy,
        go_data_plane(server) as plane,
    ):
        targets = endpoints(server, proxy, plane)
        for target in targets.values():
            load(tools, target, 8, total=500)  # warm every path's connections and caches
        for _ in range(rounds):
            for system, target in targets.items():
                seq = load(tools, target, 1, total=sequential)
                samples[system].setdefault("p50", []).append(seq["p50_ms"])
                samples[system].setdefault("p99", []).append(seq["p99_ms"])
            for clients in CLIENTS:
                for system, target in targets.items():
                    rate = load(tools, target, clients, seconds=seconds)["rps"]
                    samples[system].setdefault(f"c{clients}", []).append(rate)
    return {s: {k: statistics.median(v) for k, v in m.items()} for s, m in samples.items()}


def print_runtime(runtime: str, figures: dict[str, dict[str, float]]) -> None:
    direct = figures["direct"]
    print(f"\n{runtime} worker")
    head = "".join(f"{'rps c' + str(c):>11}" for c in CLIENTS)
    print(f"{'system':<27}{'p50 ms':>9}{'p99 ms':>9}{'+p50':>8}{'+p99':>8}{head}")
    for system in SYSTEMS:
        row = figures[system]
        over = (row["p50"] - direct["p50"], row["p99"] - direct["p99"])
        rates = "".join(f"{row[f'c{c}']:>11.0f}" for c in CLIENTS)
        print(
            f"{system:<27}{row['p50']:>9.3f}{row['p99']:>9.3f}{over[0]:>8.3f}{over[1]:>8.3f}{rates}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="+", default=["python", "node"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sequential", type=int, default=2000)
    args = parser.parse_args()
    tools = build_tools()
    ratios: dict[str, tuple[float, float]] = {}
    for runtime in args.runtimes:
        figures = measure(tools, runtime, args.seconds, args.rounds, args.sequential)
        print_runtime(runtime, figures)
        go = figures["go proxy"]["c32"]
        ratios[runtime] = (figures["lambdaclone"]["c32"] / go, figures[GO_PLANE]["c32"] / go)
    print(f"\nload average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("goals: rps at 32 clients >= 1.0x the go proxy's; +p50 <= 0.3 ms, +p99 <= 2 ms")
    listed = ", ".join(f"{name} {python:.2f}" for name, (python, _) in ratios.items())
    print(f"throughput ratio vs go reverse proxy at 32 clients: {listed}")
    listed = ", ".join(f"{name} {go_plane:.2f}" for name, (_, go_plane) in ratios.items())
    print(f"throughput ratio vs go reverse proxy at 32 clients, go data plane: {listed}")


if __name__ == "__main__":
    main()
