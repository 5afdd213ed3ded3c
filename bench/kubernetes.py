"""Timings of the Kubernetes target on the test cluster, with the real pulumi CLI and provider.

    uv run python -m bench.kubernetes [--functions 10] [--samples 3]

Starts the same control plane the tests use (etcd, kube-apiserver, controller-manager,
scheduler, kwok nodes) in a temp dir, then measures, per function: create → ready, preview of
a code change, the code-change update, a no-op update (skips `up`), delete; and N concurrent
creates and deletes (latency of each, p50/p95, plus the wall time). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

from engine.keys import new_key
from engine.kubernetes.target import KubernetesTarget
from tests.fixtures.k8s_cluster import (
    function_spec,
    target_settings,
)
from tests.fixtures.kube import start_kube_cluster

Row = tuple[str, list[float]]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def quiet(_line: str) -> None:
    """Progress lines are not shown while timing."""


SEQUENTIAL = (
    "create → ready",
    "preview (code change)",
    "update (code change, pods roll)",
    "no-op update (up skipped)",
    "delete (destroy + stack rm)",
)


def one_function(target: KubernetesTarget) -> list[float]:
    """The sequential operations on one new function, in SEQUENTIAL's order."""
    key = new_key()
    first = function_spec(key)
    second = function_spec(key, code="def handler(e, c):\n    return 2\n")
    return [
        timed(lambda: target.apply(first, quiet)),
        timed(lambda: target.preview(first, second)),
        timed(lambda: target.apply(second, quiet)),
        timed(lambda: target.apply(second, quiet)),
        timed(lambda: target.destroy(key, quiet)),
    ]


def sequential(target: KubernetesTarget, samples: int) -> list[Row]:
    runs = [one_function(target) for _ in range(samples)]
    return [(name, [run[i] for run in runs]) for i, name in enumerate(SEQUENTIAL)]


def concurrent(target: KubernetesTarget, count: int) -> tuple[list[Row], float, float]:
    keys = [new_key() for _ in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        start = time.perf_counter()
        creates = list(
            pool.map(lambda k: timed(lambda: target.apply(function_spec(k), quiet)), keys)
        )
        create_wall = time.perf_counter() - start
        start = time.perf_counter()
        deletes = list(pool.map(lambda k: timed(lambda: target.destroy(k, quiet)), keys))
        delete_wall = time.perf_counter() - start
    rows = [
        (f"{count} concurrent creates (each)", creates),
        (f"{count} concurrent deletes (each)", deletes),
    ]
    return rows, create_wall, delete_wall


def table(rows: list[Row]) -> str:
    lines = ["| operation | n | p50 s | p95 s | max s |", "|---|---:|---:|---:|---:|"]
    for name, values in rows:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        lines.append(f"| {name} | {len(values)} | {p50:.2f} | {p95:.2f} | {max(values):.2f} |")
    return "\n".join(lines)


def main() -> None:
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test cluster's TLS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--functions", type=int, default=10, help="concurrent creates")
    parser.add_argument("--samples", type=int, default=3, help="sequential runs of each operation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
        root = Path(tmp)
        with start_kube_cluster(root / "kube") as cluster:
            cluster.kubectl("create", "namespace", "bench")
            settings = target_settings(
                root / "data",
                cluster.kubeconfig,
                "bench",
                root / "pulumi-home",
                max_concurrent_operations=args.functions,
            )
            target = KubernetesTarget(settings)
            try:
                rows = sequential(target, args.samples)
                more, create_wall, delete_wall = concurrent(target, args.functions)
            finally:
                target.close()
    print(table(rows + more))
    walls = f"creates {create_wall:.1f} s, deletes {delete_wall:.1f} s"
    print(f"\nwall time of the {args.functions} concurrent operations: {walls}")


if __name__ == "__main__":
    main()
