from engine.local.supervisor import describe_exit
from runtimes.python.driver import DRIVER as PYTHON

assert PYTHON.prewarm is not None
can_use_spare = PYTHON.prewarm.can_configure


def test_exit_descriptions() -> None:
    assert describe_exit(None) == "exited"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"


def test_spares_only_when_the_interpreter_start_does_not_depend_on_the_env() -> None:
    assert can_use_spare({})
    assert can_use_spare({"TABLE": "x", "MY_PYTHON_THING": "1"})
    assert not can_use_spare({"PYTHONPATH": "/x"})
    assert not can_use_spare({"LD_PRELOAD": "/lib.so"})
    for name in ("LANG", "LC_ALL", "LC_CTYPE", "HOME"):
        assert not can_use_spare({name: "x"}), name
    assert can_use_spare({"TZ": "Asia/Seoul", "LANGUAGE_CODE": "ko"})
