"""What the Lambda Runtime API costs per invocation, against the built-in wrapper.

    uv run python bench/runtime_api.py [--requests 2000]

Three workers, each answering `{"statusCode": 200, "body": "ok"}` to GET / on one keep-alive
connection, measured directly (no control plane):
  * python: the built-in python wrapper calling a Lambda handler (the baseline);
  * runtime-api/go: the Runtime API worker (runtimes/provided/server.py) handing the same
    event to a Go `lambda.Start` program (aws-lambda-go, built with module downloads);
  * golang: the built-in Go wrapper calling an original-convention handler (for reference).
The workers take turns request by request, so a busy machine slows them alike; `difference`
is runtime-api/go - python at p50 and p99 (goal: ≤ 0.3 ms at p50). CPU µs/req is the worker's
CPU time (with its bootstrap's) per request, which a loaded machine does not inflate as much as
it does wall time (10 ms ticks: use ≥ 2000 requests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from runtimes.contract import BOOTSTRAP_ENV
from runtimes.registry import driver
from tests.fixtures.wrapper_harness import Worker, build_go, pinned_toolchain, start_worker

PYTHON = 'def handler(event, context):\n    return {"statusCode": 200, "body": "ok"}\n'
GO_LAMBDA = """package main

import (
\t"context"

\t"github.com/aws/aws-lambda-go/events"
\t"github.com/aws/aws-lambda-go/lambda"
)

type (
\tRequest  = events.APIGatewayV2HTTPRequest
\tResponse = events.APIGatewayV2HTTPResponse
)

func handle(ctx context.Context, req Request) (Response, error) {
\treturn Response{StatusCode: 200, Body: "ok"}, nil
}

func main() { lambda.Start(handle) }
"""
GO_ORIGINAL = """package main

import (
\t"net/http"
\t"net/url"
)

func handler(params url.Values, w *http.ResponseWriter) { (*w).Write([]byte("ok")) }
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return directory


def start_all(root: Path) -> dict[str, Worker]:
    workers: dict[str, Worker] = {}
    code = write(root / "py", "app.py", PYTHON)
    workers["python"] = start_worker("python", code, root / "py-work", handler="app.handler")
    go_code = write(root / "go-lambda", "handler.go", GO_LAMBDA)
    started = time.perf_counter()
    built = build_go(go_code, root / "go-lambda-work", "handler.handler")
    assert built.returncode == 0, built.stderr
    print(f"go lambda.Start build: {time.perf_counter() - started:.1f} s")
    argv = driver("provided").launch(pinned_toolchain("python"), None)
    extra = {BOOTSTRAP_ENV: str(root / "go-lambda-work" / "function")}
    workers["runtime-api/go"] = start_worker(
        "python", go_code, root / "go-lambda-work", extra_env=extra, command=argv
    )
    go_original = write(root / "go", "handler.go", GO_ORIGINAL)
    assert build_go(go_original, root / "go-work", "handler.handler").returncode == 0
    workers["golang"] = start_worker("golang", go_original, root / "go-work")
    for worker in workers.values():
        worker.wait_healthy()
    return workers


def timed_get(worker: Worker) -> float:
    started = time.perf_counter()
    reply = worker.get("/")
    elapsed = time.perf_counter() - started
    assert reply.status == 200 and reply.body == b"ok", (reply.status, reply.body)
    return elapsed


def measure(workers: dict[str, Worker], count: int) -> dict[str, list[float]]:
    """`count` requests to each worker, taking turns request by request, so a burst of load
    from elsewhere on the machine falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in workers}
    for _ in range(count):
        for name, worker in workers.items():
            samples[name].append(timed_get(worker))
    return samples


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (the bootstrap), from /proc."""
    pids = [pid] + [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _stat(int(entry.name))[:1] == [str(pid)]
    ]
    total = 0
    for one in pids:
        fields = _stat(one)
        if fields:
            total += int(fields[10]) + int(fields[11])
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name, from the parent pid on."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1:]
    except (OSError, IndexError):
        return []


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workers = start_all(Path(tmp))
        try:
            measure(workers, 200)  # warm-up
            cpu_before = {name: cpu_seconds(w.process.pid) for name, w in workers.items()}
            samples = measure(workers, args.requests)
            cpu = {
                name: (cpu_seconds(w.process.pid) - cpu_before[name]) / args.requests * 1e6
                for name, w in workers.items()
            }
        finally:
            for worker in workers.values():
                worker.stop()
    print(f"{'worker':<16}{'p50 ms':>10}{'p99 ms':>10}{'CPU µs/req':>12}")
    for name, values in samples.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"{name:<16}{p50:>10.3f}{p99:>10.3f}{cpu[name]:>12.0f}")
    for q in (50, 99):
        diff = percentile(samples["runtime-api/go"], q) - percentile(samples["python"], q)
        print(f"difference p{q} (runtime-api/go - python): {diff:+.3f} ms")


if __name__ == "__main__":
    main()
