"""Run the suite as four pytest processes at once (`make test`; ADR 0054).

Most of the suite's time is waiting — for a kubelet, a Pulumi `up`, a control plane coming back
after a SIGKILL, a worker's sleep — so four processes on two cores finish far sooner than one.
The real node's tests are one part (its cluster starts once); everything else is split in
three, balanced by recorded time (`tests/sharding.py`, `tests/durations.json`), with the kwok
cluster's tests kept together in one of them (`tests/conftest.py` marks every test that uses
either cluster). Each part writes to its own log; the logs are printed whole, one after the
other, and the exit status is the worst part's.

`python -m tests.parts [pytest arguments]`: the arguments go to every part (a part with no
test selected is fine). `--record-durations` also writes each unit's time of this run into
`tests/durations.json`, for the next runs' split.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOT_REAL_NODE = "not real_node"
PARTS = (
    ("real node", "real_node", ""),
    ("the rest, first third", NOT_REAL_NODE, "0/3"),
    ("the rest, second third", NOT_REAL_NODE, "1/3"),
    ("the rest, last third", NOT_REAL_NODE, "2/3"),
)
"""(name, marker expression, shard of the modules: `tests/sharding.py`)."""
NO_TESTS_COLLECTED = 5
SHARD_ENV = "LAMBDACLONE_TEST_SHARD"
"""`k/n`: a part runs only the k-th of n shares of its modules (tests/sharding.py)."""
RECORD_ENV = "LAMBDACLONE_TEST_DURATIONS_OUT"
"""Where a part writes its modules' times (`--record-durations`)."""
RECORD_FLAG = "--record-durations"


def main(args: list[str]) -> int:
    record = RECORD_FLAG in args
    args = [arg for arg in args if arg != RECORD_FLAG]
    scratch = Path(tempfile.mkdtemp(prefix="lc-parts-"))
    started = time.monotonic()
    runs = []
    for index, (name, expression, shard) in enumerate(PARTS):
        log = scratch / f"part-{index}.log"
        basetemp = scratch / f"tmp-{index}"  # pytest's numbered dirs are not shared
        argv = [sys.executable, "-m", "pytest", "-m", expression, f"--basetemp={basetemp}", *args]
        env = {**os.environ, SHARD_ENV: shard} if shard else dict(os.environ)
        if record:
            env[RECORD_ENV] = str(scratch / f"durations-{index}.json")
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
            runs.append((name, log, proc))
    finished: dict[str, float] = {}
    while len(finished) < len(runs):
        for name, _, proc in runs:
            if name not in finished and proc.poll() is not None:
                finished[name] = time.monotonic() - started
        time.sleep(1)
    statuses = [(name, proc.returncode) for name, _, proc in runs]
    for (name, log, _), (_, status) in zip(runs, statuses, strict=True):
        sys.stdout.write(f"\n===== part: {name} (exit {status}) =====\n")
        sys.stdout.write(log.read_text(errors="replace"))
    for name, status in statuses:
        print(f"part {name!r}: exit {status}, done after {finished[name]:.0f} s")
    if record:
        from tests.sharding import merge_recorded  # noqa: PLC0415 - only when recording

        merge_recorded(sorted(scratch.glob("durations-*.json")))
    shutil.rmtree(scratch, ignore_errors=True)
    failed = [status for _, status in statuses if status not in (0, NO_TESTS_COLLECTED)]
    return max(failed, default=0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
