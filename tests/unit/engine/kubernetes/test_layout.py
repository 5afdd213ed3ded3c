"""The CLI's automatic log files of a function's stack are recognised by name (and only its
own: a key that is a prefix of another's does not take the other's logs)."""

from __future__ import annotations

from pathlib import Path

from engine.kubernetes.layout import PulumiLayout
from engine.kubernetes.stacks import StackService
from engine.settings import Settings


def layout(tmp_path: Path) -> PulumiLayout:
    return PulumiLayout.from_settings(Settings(data_dir=tmp_path, target="kubernetes"))


def test_a_stacks_log_files_are_its_own(tmp_path: Path) -> None:
    found = layout(tmp_path)
    own = [
        "organization+lambdaclone-functions+lambdaclone-fn-abc-20261201T144917.log",
        "organization+lambdaclone-functions+lambdaclone-fn-abc-20261201T145051-u1d.log",
    ]
    others = [
        "organization+lambdaclone-functions+lambdaclone-fn-abc-def-20261201T144917.log",
        "organization+lambdaclone-functions+lambdaclone-fn-abcd-20261201T144917.log",
        "pulumi-20261201T144840-18-stack_list.log",
        "organization+lambdaclone-base+lambdaclone-fn-abc-20261201T144917.log",
    ]
    assert all(found.is_stack_log("abc", name) for name in own)
    assert not any(found.is_stack_log("abc", name) for name in others)


def test_removing_a_function_removes_its_stacks_logs_and_keeps_the_others(tmp_path: Path) -> None:
    service = StackService(Settings(data_dir=tmp_path, target="kubernetes"))
    logs = service.layout.logs_dir
    logs.mkdir(parents=True)
    own = logs / "organization+lambdaclone-functions+lambdaclone-fn-abc-20261201T144917.log"
    other = logs / "organization+lambdaclone-functions+lambdaclone-fn-abcd-20261201T144917.log"
    for path in (own, other):
        path.write_text("x")
    service.remove("abc", None)
    assert not own.exists()
    assert other.exists()
    service.close()
