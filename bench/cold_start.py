"""Cold start per runtime: a function scaled to zero → its first response through `/endpoint`.

    uv run python -m bench.cold_start [--runtimes <the registry's>] [--runs 20]

Each runtime gets a control plane (uvicorn + the real app + a local target) with a 0.3 s idle
timeout and its default code deployed. Every run waits until the worker has been stopped for
idleness (and its process is gone), then times one GET over a kept-alive connection to the
control plane. Go starts from its compiled cache; Python takes the pre-started worker when
there is one (see docs/local-target.md). Prints p50/p90/min/max, and the worker start as the
target logged it ("healthy in N ms": spawn → health answered).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.invoke import RawClient, Server, percentile, run_server
from runtimes.registry import names

IDLE_TIMEOUT_S = 0.3
TIMEOUT_MS = 300
_STARTED = re.compile(r"worker pid (\d+).* healthy on .* in (\d+) ms")


def _logs(client: RawClient, key: str) -> list[str]:
    status, body = client.get(f"/lambda/logs?key={key}&limit=1000")
    if status != 200:
        raise SystemExit(f"logs answered {status}: {body[:200]!r}")
    return [str(line["message"]) for line in json.loads(body)["lines"]]


def _last_start(lines: list[str]) -> tuple[int, int]:
    for line in reversed(lines):
        if match := _STARTED.search(line):
            return int(match.group(1)), int(match.group(2))
    raise SystemExit("no worker start in the logs")


def _pid_gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait_scaled_to_zero(client: RawClient, key: str, timeout_s: float = 20.0) -> None:
    pid, _ = _last_start(_logs(client, key))
    deadline = time.monotonic() + timeout_s
    while not _pid_gone(pid):
        if time.monotonic() > deadline:
            raise SystemExit(f"worker {pid} was not stopped for idleness")
        time.sleep(0.05)


def measure(runtime: str, runs: int) -> tuple[list[float], list[float], float]:
    with (
        tempfile.TemporaryDirectory(prefix="lc-cold-") as tmp,
        run_server(runtime, Path(tmp), IDLE_TIMEOUT_S, TIMEOUT_MS) as server,
    ):
        return _runs(server, runs)


def _runs(server: Server, runs: int) -> tuple[list[float], list[float], float]:
    client = RawClient("127.0.0.1", server.port, token=server.admin_token)
    path = f"/endpoint/{server.key}?cold=1"
    _, deploy_start_ms = _last_start(_logs(client, server.key))
    totals: list[float] = []
    starts: list[float] = []
    for _ in range(runs):
        _wait_scaled_to_zero(client, server.key)
        time.sleep(0.3)  # let a replacement spare (python) finish starting
        started = time.perf_counter()
        status, body = client.get(path)
        totals.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"cold invoke answered {status}: {body[:300]!r}")
        starts.append(float(_last_start(_logs(client, server.key))[1]))
    client.close()
    return totals, starts, float(deploy_start_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="+", choices=names(), default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    runtimes = args.runtimes or list(names())
    print(f"\ncold start (scaled to zero → first response via /endpoint), {args.runs} runs each")
    header = f"{'runtime':<9}{'p50 ms':>9}{'p90 ms':>9}{'min ms':>9}{'max ms':>9}"
    print(header + f"{'start p50':>11}{'1st spawn':>11}")
    for runtime in runtimes:
        totals, starts, first = measure(runtime, args.runs)
        row = [percentile(totals, 50), percentile(totals, 90), min(totals), max(totals)]
        print(
            f"{runtime:<9}"
            + "".join(f"{v:>9.1f}" for v in row)
            + f"{statistics.median(starts):>11.0f}{first:>11.0f}"
        )
    print("start p50: the target's spawn → healthy; 1st spawn: the deploy's (no spare yet)")
    print("targets: p50 <= 150 ms for python and node")


if __name__ == "__main__":
    main()
