"""A pre-started Python worker ("spare"): imports the wrapper and Flask, then waits.

Run as `python runtimes/python/prewarm.py <wrapper.py>` by the local target's spare pool. It reads
one JSON line on stdin — `{"env": {...}, "cwd": "..."}`, exactly the environment and directory a
freshly spawned worker would get — installs it, and runs the wrapper's `main()`. EOF on stdin
(the pool closed it, or the control plane died) exits quietly.

What the C library read from the environment at interpreter start is read again: `TZ`
(`time.tzset()`). Variables the interpreter itself only reads at start (`PYTHON*`, `LD_*`,
locale, `HOME`) are never given to a spare: such functions get a freshly spawned worker
(`engine.local.spares.can_use_spare`).

This takes the interpreter start and the imports (~120 ms of Flask on a small machine) off the
cold start. Only the standard library is imported here besides the wrapper and Flask; the
script's own directory is removed from `sys.path` first so it never shadows user modules.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time


def _load_wrapper(path: str) -> object:
    spec = importlib.util.spec_from_file_location("lambdaclone_wrapper", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"prewarm: cannot load the wrapper {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _preload_flask() -> None:
    """Import Flask and run its lazy imports, as the original convention would at load."""
    with contextlib.suppress(ImportError):
        from flask import Flask  # noqa: PLC0415

        app = Flask("lambdaclone_prewarm")
        with app.test_request_context():
            app.make_response("")


def main() -> None:
    del sys.path[0]  # this script's directory (runtimes/python) must not shadow user modules
    wrapper = _load_wrapper(sys.argv[1])
    _preload_flask()
    line = sys.stdin.readline()
    if not line:
        return
    config = json.loads(line)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # as a spawned worker: stdin is /dev/null
    os.close(devnull)
    os.environ.clear()
    os.environ.update(config["env"])
    time.tzset()  # the C library read TZ when this process started, not now
    os.chdir(config["cwd"])
    wrapper.main()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
