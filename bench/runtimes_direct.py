"""Cold start and warm latency of each runtime wrapper, measured directly (no control plane).

    uv run python bench/runtimes_direct.py [--starts 10] [--requests 1000]

For each runtime, with its default code:
  * cold start: process spawn -> first successful (200) response to GET /, median of N starts
    (a request is sent as soon as the port accepts; it waits while the handler loads), and the
    CPU time (user+sys, 10 ms resolution) the worker used until then: on a busy machine the
    wall time mostly measures the wait for a CPU, the CPU time does not;
  * warm: p50/p99 of sequential GETs on one keep-alive connection.
Go is compiled once beforehand (build time printed separately; it is not part of the start).
Python runs with a bytecode cache dir (as the local target should); without it, in an
environment with PYTHONDONTWRITEBYTECODE set, every start recompiles Flask.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from runtimes.contract import DEFAULT_HANDLER
from runtimes.registry import driver, names
from tests.fixtures.wrapper_harness import Worker, build_go, default_code, start_worker


def first_response(worker: Worker, started: float, timeout: float = 30.0) -> float:
    """Seconds from `started` until GET / answers 200 (retrying while the port is closed)."""
    while time.perf_counter() - started < timeout:
        conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=timeout)
        try:
            conn.request("GET", "/?cold=1")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.001)
        finally:
            conn.close()
    raise TimeoutError("worker never answered 200")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_starts(runtime: str, code_dir: Path, work: Path, count: int) -> list[tuple[float, float]]:
    """(wall, cpu) seconds to the first response, per start."""
    pycache = work / "pycache"
    samples = []
    for i in range(count + 1):  # the first start warms the bytecode cache; not counted
        started = time.perf_counter()
        worker = start_worker(runtime, code_dir, work, pycache=pycache)
        elapsed = first_response(worker, started)
        cpu = cpu_seconds(worker.process.pid)
        worker.stop()
        if i:
            samples.append((elapsed, cpu))
    return samples


def warm_latencies(runtime: str, code_dir: Path, work: Path, count: int) -> list[float]:
    worker = start_worker(runtime, code_dir, work, pycache=work / "pycache")
    try:
        worker.wait_healthy()
        for _ in range(50):
            worker.get("/?warm=1")
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            reply = worker.get("/?warm=1")
            samples.append(time.perf_counter() - started)
            assert reply.status == 200
        return samples
    finally:
        worker.stop()


def measure(runtime: str, root: Path, starts: int, requests: int) -> str:
    code_dir = root / runtime / "code"
    work = root / runtime / "work"
    code_dir.mkdir(parents=True)
    code = default_code(runtime)
    (code_dir / driver(runtime).code_filename(DEFAULT_HANDLER, code)).write_text(code)
    build = ""
    if driver(runtime).builds:
        started = time.perf_counter()
        built = build_go(code_dir, work, DEFAULT_HANDLER)
        if built.returncode:
            sys.exit(built.stderr)
        build = f" (build {time.perf_counter() - started:.2f} s, warm cache)"
    samples = cold_starts(runtime, code_dir, work, starts)
    cold = statistics.median(wall for wall, _ in samples) * 1000
    cpu = statistics.median(cpu for _, cpu in samples) * 1000
    warm = sorted(warm_latencies(runtime, code_dir, work, requests))
    p50 = warm[len(warm) // 2] * 1000
    p99 = warm[int(len(warm) * 0.99) - 1] * 1000
    return (
        f"| {runtime:7} | {cold:8.1f} ms | {cpu:6.0f} ms | {p50:6.3f} ms | {p99:6.3f} ms |{build}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| runtime | cold start  | cold CPU  | warm p50  | warm p99  |")
    print("|---------|-------------|-----------|-----------|-----------|")
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in names():
            print(measure(runtime, Path(tmp), args.starts, args.requests), flush=True)


if __name__ == "__main__":
    main()
