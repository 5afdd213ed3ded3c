"""Deploy → first successful invoke, per runtime, on the local target.

    uv run python -m bench.deploy_local [--runtimes <the registry's>] [--runs 10]

One process runs a local target and a uvicorn (uvloop, httptools) serving the invoke router in a
thread. Each run deploys a new function (`LocalTarget.apply`: code written, Go built, worker
started and healthy, traffic switched) and then GETs `/endpoint/{key}` until it answers 200.
Go is measured twice: new code (compiled, with a warm GOCACHE) and the same code under a new
key (the binary comes from the compile cache). Prints p50/p90/max of apply, first invoke, total.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.invoke import RawClient, link_gocache, make_spec
from bench.invoke import percentile as pct
from engine.local.target import LocalTarget
from engine.settings import Settings
from engine.traffic import Traffic
from runtimes.registry import driver, names
from tests.fixtures.invoke_app import build_app, serving
from tests.fixtures.local_targets import ephemeral_keyring
from tests.fixtures.specs import default_code


@contextmanager
def control_plane(data_dir: Path) -> Iterator[tuple[LocalTarget, int]]:
    link_gocache(data_dir)
    settings = Settings(data_dir=data_dir, mongodb_uri="mongodb://unused.invalid")
    target = LocalTarget(settings, Traffic(), ephemeral_keyring())
    app, _ = build_app(target)
    try:
        with serving(app) as port:
            yield target, port
    finally:
        target.close()


def one_deploy(target: LocalTarget, client: RawClient, runtime: str, code: str) -> list[float]:
    spec = make_spec(runtime, f"d{uuid.uuid4().hex[:10]}", code=code)
    started = time.perf_counter()
    target.apply(spec, lambda _line: None)
    applied = time.perf_counter()
    while client.get(f"/endpoint/{spec.key}")[0] != 200:
        time.sleep(0.001)
    done = time.perf_counter()
    return [(applied - started) * 1000, (done - applied) * 1000, (done - started) * 1000]


def measure(target: LocalTarget, port: int, runtime: str, runs: int, fresh: bool) -> None:
    client = RawClient("127.0.0.1", port)
    rows: list[list[float]] = []
    for run in range(runs):
        code = default_code(runtime)
        if fresh:
            code += f"\n{driver(runtime).line_comment} build {uuid.uuid4().hex} {run}\n"
        rows.append(one_deploy(target, client, runtime, code))
    client.close()
    label = (
        f"{runtime} ({'new code' if fresh else 'cached build'})"
        if driver(runtime).builds
        else runtime
    )
    cells = []
    for column in range(3):
        values = [row[column] for row in rows]
        cells += [pct(values, 50), pct(values, 90), max(values)]
    print(f"{label:<24}" + "".join(f"{v:>9.1f}" for v in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="+", choices=names(), default=None)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    runtimes = args.runtimes or list(names())
    print(f"\ndeploy → first successful invoke, {args.runs} new functions per row (ms)")
    groups = ("apply", "1st invoke", "total")
    print(f"{'':<24}" + "".join(f"{g:^27}" for g in groups))
    print(f"{'runtime':<24}" + "".join(f"{'p50':>9}{'p90':>9}{'max':>9}" for _ in groups))
    with tempfile.TemporaryDirectory(prefix="lc-deploy-") as tmp, control_plane(Path(tmp)) as cp:
        target, port = cp
        for runtime in runtimes:
            measure(target, port, runtime, args.runs, fresh=True)
            if driver(runtime).builds:
                measure(target, port, runtime, args.runs, fresh=False)
    print("targets: total p50 <= 1000 ms for python and node")


if __name__ == "__main__":
    main()
