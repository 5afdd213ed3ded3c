"""How a worker ended, in the words the logs and `status().last_exit` use (pure)."""

from __future__ import annotations

import signal

from engine.local.process import WorkerProcess


def worker_exit(worker: WorkerProcess, memory_mb: int | None) -> str:
    """Why `worker` ended: the kernel's OOM kill first (a stop the platform began meanwhile,
    after the failed request, must not hide it), then the platform's reason, then the code."""
    box = worker.box
    if worker.stop_reason and not (box is not None and box.oom_killed):
        return worker.stop_reason
    return describe_exit(
        worker.popen.returncode,
        sandboxed=box is not None,
        oom_killed=box is not None and box.oom_killed,
        memory_mb=memory_mb,
    )


def describe_exit(
    returncode: int | None,
    *,
    sandboxed: bool = False,
    oom_killed: bool = False,
    memory_mb: int | None = None,
) -> str:
    """`exited with code 3`, `killed by SIGKILL`, or the kernel's OOM kill of a sandbox.

    A sandboxed worker's exit code is bwrap's, which passes on tini's: 128 + the signal that
    ended the worker."""
    if oom_killed:
        limit = f" ({memory_mb} MB)" if memory_mb else ""
        return f"killed: out of memory, the function's memory limit{limit} was exceeded"
    if returncode is None:
        return "exited"
    if sandboxed and returncode > 128:
        returncode = 128 - returncode
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited with code {returncode}"
