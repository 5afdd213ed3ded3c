"""Timings of the Kubernetes target, with the real pulumi CLI and provider.

    uv run python -m bench.kubernetes [--functions 10] [--samples 3] [--kwok]

By default (as root) on the real node of the test cluster (tests/fixtures/real_cluster.py:
registry, images pushed by digest, Traefik serving class `alb`): per function, create → the
first 200 through the ingress controller (and how much of it is Pulumi: stack select/init and
`up`, until the rollout wait starts), a code update → the new code served, a no-op update, the
delete; then N concurrent creates (each to its first 200) and deletes. `--kwok` runs the older
measurement on kwok nodes only (no container runs; "ready" is the rollout wait's verdict).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import urllib3

from engine.keyring import KEY_BYTES, Keyring
from engine.keys import new_key
from engine.kubernetes.target import KubernetesTarget
from engine.spec import FunctionSpec
from tests.fixtures.k8s_cluster import (
    RealImages,
    function_spec,
    real_node_settings,
    target_settings,
)
from tests.fixtures.kube import start_kube_cluster
from tests.fixtures.real_cluster import shared_real_cluster

Row = tuple[str, list[float]]


class Provisioner(Protocol):
    def preview(self, current: FunctionSpec | None, desired: FunctionSpec) -> object: ...

    def apply(self, spec: FunctionSpec, progress: Callable[[str], None]) -> None: ...

    def destroy(self, key: str, progress: Callable[[str], None]) -> None: ...


PULUMI_DONE = "waiting for the rollout"
FIRST_200_TIMEOUT_S = 120.0


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def quiet(_line: str) -> None:
    """Progress lines are not shown while timing."""


def code(version: int) -> str:
    return f"def handler(event, context):\n    return {{'version': {version}}}\n"


@dataclass
class Timed:
    """One apply: its whole time, the Pulumi part of it, and when the new code answered."""

    total: float
    pulumi: float
    served: float


def served(url: str, expect: str, started: float) -> float:
    """Polls `url` until its body contains `expect`; the seconds since `started`."""
    deadline = time.monotonic() + FIRST_200_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200 and expect in answer.read().decode():
                    return time.perf_counter() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer {expect!r}")


def apply_until_served(target: Provisioner, key: str, version: int, url: str | None) -> Timed:
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(line: str) -> None:
        if PULUMI_DONE in line:
            marks["pulumi"] = time.perf_counter() - start

    target.apply(function_spec(key, code=code(version)), progress)
    total = time.perf_counter() - start
    first = served(url, f'"version": {version}', start) if url else total
    return Timed(total, marks.get("pulumi", total), first)


def one_function(target: Provisioner, url_of: Callable[[str], str | None]) -> list[float]:
    """Create → first 200, its Pulumi part, preview, update → new code, no-op, delete."""
    key = new_key()
    url = url_of(key)
    created = apply_until_served(target, key, 1, url)
    first, second = function_spec(key, code=code(1)), function_spec(key, code=code(2))
    preview = timed(lambda: target.preview(first, second))
    updated = apply_until_served(target, key, 2, url)
    noop = timed(lambda: target.apply(function_spec(key, code=code(2)), quiet))
    delete = timed(lambda: target.destroy(key, quiet))
    return [created.served, created.pulumi, preview, updated.served, noop, delete]


SEQUENTIAL = (
    "create → first 200 through the ingress",
    "  of which Pulumi (stack select/init + up)",
    "preview (code change)",
    "update (code change) → new code served",
    "no-op update (up skipped)",
    "delete (destroy + stack rm + pods gone)",
)


def sequential(target: Provisioner, samples: int, url_of: Callable[[str], str | None]) -> list[Row]:
    runs = [one_function(target, url_of) for _ in range(samples)]
    return [(name, [run[i] for run in runs]) for i, name in enumerate(SEQUENTIAL)]


def concurrent(
    target: Provisioner, count: int, url_of: Callable[[str], str | None]
) -> tuple[list[Row], float, float]:
    keys = [new_key() for _ in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        start = time.perf_counter()
        creates = list(pool.map(lambda k: apply_until_served(target, k, 1, url_of(k)), keys))
        create_wall = time.perf_counter() - start
        start = time.perf_counter()
        deletes = list(pool.map(lambda k: timed(lambda: target.destroy(k, quiet)), keys))
        delete_wall = time.perf_counter() - start
    rows = [
        (f"{count} concurrent creates → first 200 (each)", [c.served for c in creates]),
        ("  of which Pulumi", [c.pulumi for c in creates]),
        (f"{count} concurrent deletes (each)", deletes),
    ]
    return rows, create_wall, delete_wall


def table(rows: list[Row]) -> str:
    lines = ["| operation | n | p50 s | p95 s | max s |", "|---|---:|---:|---:|---:|"]
    for name, values in rows:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        lines.append(f"| {name} | {len(values)} | {p50:.2f} | {p95:.2f} | {max(values):.2f} |")
    return "\n".join(lines)


@contextlib.contextmanager
def real_node_target(root: Path, functions: int) -> Iterator[tuple[RealImages, str]]:
    """A target outside the cluster, on the real node; yields it and the ingress URL."""
    with shared_real_cluster(root) as cluster:
        images = cluster.images()
        ingress = cluster.ingress()
        cluster.kube.kubectl("create", "namespace", "bench")
        settings = real_node_settings(cluster, root / "data", "bench").model_copy(
            update={"max_concurrent_operations": functions}
        )
        keyring = Keyring(os.urandom(KEY_BYTES))
        target = RealImages(KubernetesTarget(settings, keyring), images, keyring)
        try:
            yield target, ingress.url
        finally:
            target.close()


@contextlib.contextmanager
def kwok_target(root: Path, functions: int) -> Iterator[KubernetesTarget]:
    with start_kube_cluster(root / "kube") as cluster:
        cluster.kubectl("create", "namespace", "bench")
        settings = target_settings(
            root / "data",
            cluster.kubeconfig,
            "bench",
            root / "pulumi-home",
            max_concurrent_operations=functions,
        )
        target = KubernetesTarget(settings)
        try:
            yield target
        finally:
            target.close()


def run(args: argparse.Namespace, root: Path) -> tuple[list[Row], float, float]:
    if args.kwok or os.geteuid() != 0:
        with kwok_target(root, args.functions) as target:
            rows = sequential(target, args.samples, lambda _key: None)
            more, create_wall, delete_wall = concurrent(target, args.functions, lambda _key: None)
            return rows + more, create_wall, delete_wall
    with real_node_target(root, args.functions) as (real, ingress):

        def url_of(key: str) -> str:
            return f"{ingress}/endpoint/{key}"

        rows = sequential(real, args.samples, url_of)
        more, create_wall, delete_wall = concurrent(real, args.functions, url_of)
        return rows + more, create_wall, delete_wall


def main() -> None:
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test cluster's TLS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--functions", type=int, default=10, help="concurrent creates")
    parser.add_argument("--samples", type=int, default=3, help="sequential runs of each operation")
    parser.add_argument("--kwok", action="store_true", help="kwok nodes only, no real node")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
        rows, create_wall, delete_wall = run(args, Path(tmp))
    print(table(rows))
    walls = f"creates {create_wall:.1f} s, deletes {delete_wall:.1f} s"
    print(f"\nwall time of the {args.functions} concurrent operations: {walls}")


if __name__ == "__main__":
    main()
