"""Runs every benchmark in turn and prints their tables (`make bench`).

Each benchmark is its own command (`uv run python bench/<name>.py --help`); this only strings
them together so the figures in docs/benchmarks.md can be regenerated in one go.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = (
    "runtimes_direct",
    "invoke",
    "cold_start",
    "deploy_local",
    "deploy_packages",
    "kubernetes",
)


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        done = subprocess.run([sys.executable, str(here / f"{name}.py")], check=False)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
