"""What the sandbox costs: cold start and warm invoke with the sandbox vs without, in one run.

    uv run python -m bench.sandbox [--runtimes python node golang] [--runs 20] [--requests 2000]

For each runtime two control planes run side by side (uvicorn + the real app + a local target,
0.3 s idle timeout, the default code deployed): one with `LAMBDACLONE_SANDBOX=auto` (sandboxed
where the machine allows it) and one with `off` (plain processes on loopback ports); python
also once more each with `PREWARM_WORKERS=false` (every start spawns an interpreter). Runs
alternate between them, so background load hits both alike. A cold run waits until the worker
was stopped for idleness (python: and until the spare that replaced the last one taken waits
for its function), then times one GET over a kept-alive connection. The warm part sends
each GET to one control plane and then the other (paired). Goal: the sandbox adds ≤ 10 ms p50
to a cold start and nothing measurable to a warm invoke.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

from bench.cold_start import IDLE_TIMEOUT_S, TIMEOUT_MS, _last_start, _logs, _wait_scaled_to_zero
from bench.invoke import RawClient, Server, percentile, run_server, timed_gets
from engine.local.orphans import SPARE, children, instance_of, marked_processes
from runtimes.registry import names

VARIANTS = {"sandbox": {"SANDBOX": "auto"}, "plain": {"SANDBOX": "off"}}
NO_SPARE = {"PREWARM_WORKERS": "false"}
PREWARMED = ("python",)
"""Runtimes with pre-started workers: each cold run waits until the spare is ready."""


def _spare_ready(data_dir: Path) -> bool:
    """A pre-started worker of `data_dir`'s control plane waits for its function: its
    interpreter (the marked process, or under the sandbox's bwrap and tini) blocks reading the
    configuration from its stdin."""
    for found in marked_processes(instance_of(data_dir)):
        if found.mark.key != SPARE:
            continue
        tree = [found.pid]
        while tree:
            pid = tree.pop()
            with contextlib.suppress(OSError):
                if "pipe_read" in Path(f"/proc/{pid}/wchan").read_text():
                    return True
            tree += children(pid)
    return False


def _wait_spare(data_dir: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _spare_ready(data_dir):
        if time.monotonic() > deadline:
            raise SystemExit(f"no spare became ready in {timeout_s} s")
        time.sleep(0.02)


def _cold(server: Server, data_dir: Path | None) -> tuple[float, float]:
    """One cold start through /endpoint: (total ms, the target's spawn → healthy ms). A fresh
    connection per run, warmed by the log polls, so the server's idle and head timeouts
    (`HTTP_KEEP_ALIVE_S`, `HTTP_HEADER_TIMEOUT_S`) never cut it while the other variant runs."""
    client = RawClient("127.0.0.1", server.port, token=server.admin_token)
    try:
        _wait_scaled_to_zero(client, server.key)
        if data_dir is not None:  # the spare taken by the last run has been replaced
            _wait_spare(data_dir)
        _logs(client, server.key)  # the connection is warm and its timers fresh
        started = time.perf_counter()
        status, body = client.get(f"/endpoint/{server.key}?cold=1")
        total = (time.perf_counter() - started) * 1000
        if status != 200:
            raise SystemExit(f"cold invoke answered {status}: {body[:300]!r}")
        return total, float(_last_start(_logs(client, server.key))[1])
    finally:
        client.close()


def compare_cold(runtime: str, runs: int, extra: dict[str, str]) -> dict[str, list[float]]:
    with contextlib.ExitStack() as stack:
        servers, data_dirs = {}, {}
        for name, settings in VARIANTS.items():
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lc-sbx-")))
            servers[name] = stack.enter_context(
                run_server(runtime, tmp, IDLE_TIMEOUT_S, TIMEOUT_MS, settings | extra)
            )
            data_dirs[name] = tmp if runtime in PREWARMED and not extra else None
        if servers["sandbox"].sandbox != "full":
            raise SystemExit(f"no sandbox on this machine (level {servers['sandbox'].sandbox})")
        out: dict[str, list[float]] = {f"{n} {k}": [] for n in VARIANTS for k in ("total", "start")}
        for _ in range(runs):
            for name in VARIANTS:
                total, start = _cold(servers[name], data_dirs[name])
                out[f"{name} total"].append(total)
                out[f"{name} start"].append(start)
    return out


def compare_warm(runtime: str, requests: int) -> dict[str, list[float]]:
    """Paired warm GETs through /endpoint to the sandboxed and the plain control plane."""
    with contextlib.ExitStack() as stack:
        servers = {}
        for name, settings in VARIANTS.items():
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lc-sbx-")))
            servers[name] = stack.enter_context(run_server(runtime, tmp, settings=settings))
        clients = {name: RawClient("127.0.0.1", s.port) for name, s in servers.items()}
        out: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for name, server in servers.items():
            timed_gets(clients[name], f"/endpoint/{server.key}/warm", 300)
        for _ in range(requests):
            for name, server in servers.items():
                out[name] += timed_gets(clients[name], f"/endpoint/{server.key}/warm?a=1", 1)
        for client in clients.values():
            client.close()
    return out


def _row(label: str, values: list[float], baseline: list[float] | None) -> str:
    p50, p90 = percentile(values, 50), percentile(values, 90)
    if baseline:
        base = percentile(baseline, 50)
        versus = f"{p50 - base:>+10.2f}{p50 / base:>8.2f}x"
    else:
        versus = f"{'':>10}{'':>9}"
    return f"{label:<42}{p50:>9.2f}{p90:>9.2f}{min(values):>9.2f}{max(values):>9.2f}{versus}"


HEADER = f"{'runtime / variant':<42}{'p50 ms':>9}{'p90 ms':>9}{'min ms':>9}{'max ms':>9}" + (
    f"{'Δp50 ms':>10}{'ratio':>9}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="+", choices=names(), default=None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    runtimes = args.runtimes or list(names())
    print(f"\ncold start with and without the sandbox, {args.runs} alternating runs each")
    print(HEADER)
    cases: list[tuple[str, dict[str, str], str]] = [(r, {}, "") for r in runtimes]
    if "python" in runtimes:
        cases.append(("python", NO_SPARE, " (no spare)"))
    for runtime, extra, note in cases:
        out = compare_cold(runtime, args.runs, extra)
        for kind, what in (("total", "first response"), ("start", "spawn → healthy")):
            base = out[f"plain {kind}"]
            print(_row(f"{runtime}{note} plain, {what}", base, None))
            print(_row(f"{runtime}{note} sandbox, {what}", out[f"sandbox {kind}"], base))
    print("first response: GET through /endpoint; spawn → healthy: as the target logged it")
    print("goal: the sandbox adds <= 10 ms p50")
    print(f"\nwarm invoke through /endpoint, {args.requests} paired keep-alive GETs")
    print(HEADER)
    for runtime in runtimes:
        warm = compare_warm(runtime, args.requests)
        print(_row(f"{runtime} plain (TCP worker)", warm["plain"], None))
        print(_row(f"{runtime} sandbox (Unix socket)", warm["sandbox"], warm["plain"]))


if __name__ == "__main__":
    main()
