from engine.local.exits import describe_exit
from runtimes.python.driver import DRIVER as PYTHON

assert PYTHON.prewarm is not None
can_use_spare = PYTHON.prewarm.can_configure


def test_exit_descriptions() -> None:
    assert describe_exit(None) == "exited"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"


def test_a_sandboxed_workers_exit_code_carries_the_signal_and_the_oom_kill() -> None:
    assert describe_exit(137, sandboxed=True) == "killed by SIGKILL"
    assert describe_exit(3, sandboxed=True) == "exited with code 3"
    assert describe_exit(137) == "exited with code 137"  # a plain worker's own exit code
    oom = describe_exit(137, sandboxed=True, oom_killed=True, memory_mb=128)
    assert oom == "killed: out of memory, the function's memory limit (128 MB) was exceeded"


def test_spares_only_when_the_interpreter_start_does_not_depend_on_the_env() -> None:
    assert can_use_spare({})
    assert can_use_spare({"TABLE": "x", "MY_PYTHON_THING": "1"})
    assert not can_use_spare({"PYTHONPATH": "/x"})
    assert not can_use_spare({"LD_PRELOAD": "/lib.so"})
    for name in ("LANG", "LC_ALL", "LC_CTYPE", "HOME"):
        assert not can_use_spare({name: "x"}), name
    assert can_use_spare({"TZ": "Asia/Seoul", "LANGUAGE_CODE": "ko"})
