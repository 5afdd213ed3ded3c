"""Handing a pre-started worker ("spare") its function: its code, its memory limit, its
cgroup name and its configuration line on stdin. A spare that cannot take the function is
discarded and the caller spawns a fresh worker instead."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal

from engine.local.launch import Launch, Spare
from engine.local.orphans import Mark
from engine.local.sandbox_argv import TASK_DIR


def configure(spare: Spare, launch: Launch) -> bool:
    """Give `spare` the worker `launch` describes; False (spare discarded) if it cannot be."""
    if (spare.box is not None) != launch.boxed or spare.popen.poll() is not None:
        discard_spare(spare)
        return False
    try:
        if spare.box is not None and launch.box is not None:
            _move_in(spare, launch)
        _send_config(spare, launch)
    except OSError:
        discard_spare(spare)
        return False
    return True


def _move_in(spare: Spare, launch: Launch) -> None:
    """A sandboxed spare: the function's code into its /var/task, the function's limit and
    cgroup name (so recovery finds it by the function's key)."""
    assert spare.box is not None and launch.box is not None and spare.task_dir is not None
    shutil.copytree(
        launch.cwd, spare.task_dir, dirs_exist_ok=True, symlinks=True, copy_function=_link
    )
    spare.box.set_memory(launch.box.memory_bytes)
    spare.box.rename(Mark(launch.instance, launch.key, spare.mark.worker).cgroup_name)


def _link(source: str, dest: str) -> None:
    """A hard link where the file system allows (a package may hold thousands of files; the
    code is root-owned 0644, so the worker cannot write through the link), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _send_config(spare: Spare, launch: Launch) -> None:
    assert spare.popen.stdin is not None
    cwd = TASK_DIR if spare.box is not None else str(launch.cwd)
    config = {"env": dict(launch.env), "cwd": cwd}
    spare.popen.stdin.write(json.dumps(config).encode() + b"\n")
    spare.popen.stdin.close()


def discard_spare(spare: Spare) -> None:
    """Stop a spare nobody will use and release what it holds."""
    if spare.box is not None:
        spare.box.kill()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            spare.popen.send_signal(signal.SIGKILL)
    with contextlib.suppress(OSError):
        if spare.popen.stdin is not None:
            spare.popen.stdin.close()
    spare.popen.wait()
    for stream in (spare.popen.stdout, spare.popen.stderr):
        if stream is not None:
            stream.close()
    if spare.box is not None:
        spare.box.finish()  # removes the cgroup, frees the uid and the task directory
