"""What a token costs on the invoke path: the same function, public and `auth: token`, through
`/endpoint` on one server (uvicorn + the real app + the local target), requests interleaved —
and a second public copy, so what two workers differ by is not counted as the token's cost.

    uv run python -m bench.invoke_auth [--runtime <name>] [--requests 3000]

Token checks are in memory (a hash and a dict lookup; no store round trip), so the goal is a
p50 difference of at most 0.05 ms; a public function pays nothing for the feature.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.invoke import RawClient, percentile, run_server, timed_gets
from engine.catalog import DEFAULT_RUNTIME
from runtimes.registry import names

GOAL_MS = 0.05


def measure(runtime: str, requests: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp,
        run_server(runtime, Path(tmp)) as s,
    ):
        client = RawClient("127.0.0.1", s.port)
        token = f"Authorization: Bearer {s.token}\r\n".encode()
        public, protected = f"/endpoint/{s.key}/b?x=1", f"/endpoint/{s.protected_key}/b?x=1"
        control = f"/endpoint/{s.control_key}/b?x=1"
        timed_gets(client, public, 300)
        timed_gets(client, control, 300)
        timed_gets(client, protected, 300, token)
        series: dict[str, list[float]] = {"public": [], "control": [], "token": []}
        calls = [("public", public, b""), ("control", control, b""), ("token", protected, token)]
        for i in range(requests):  # one of each, in turn first: all see the same load
            for name, path, headers in calls[i % 3 :] + calls[: i % 3]:
                series[name] += timed_gets(client, path, 1, headers)
        client.close()
    print(f"\ninvoke auth, {runtime} worker: {requests} interleaved pairs via /endpoint (ms)")
    print(f"{'function':<22}{'p50':>9}{'p90':>9}{'p99':>9}")
    rows = {}
    labels = (
        ("public", "auth: none"),
        ("control", "auth: none, 2nd worker"),
        ("token", "auth: token"),
    )
    for name, label in labels:
        rows[name] = [percentile(series[name], q) for q in (50, 90, 99)]
        print(f"{label:<22}" + "".join(f"{v:>9.3f}" for v in rows[name]))
    public_p50 = (rows["public"][0] + rows["control"][0]) / 2
    spread = abs(rows["control"][0] - rows["public"][0])
    extra = rows["token"][0] - public_p50
    print(f"two public workers differ by {spread:.3f} ms p50 (the noise floor)")
    print(f"token check p50 cost: {extra:.3f} ms vs their mean (goal <= {GOAL_MS:.3f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=names(), default=DEFAULT_RUNTIME[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    measure(args.runtime, args.requests)


if __name__ == "__main__":
    main()
