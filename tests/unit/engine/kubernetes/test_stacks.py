"""The Automation API service's pure-ish parts: the applied marker, error translation and
progress relaying (no CLI involved)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error

from engine.errors import StackLocked, TargetError
from engine.kubernetes.actions import ProgressRelay
from engine.kubernetes.stacks import (
    APPLIED_HASH,
    applied_hash,
    pulumi_failure,
    set_applied_hash,
)


def local_workspace(work_dir: Path) -> auto.LocalWorkspace:
    """A LocalWorkspace for file-only calls; its command is never run."""
    command = cast(auto.PulumiCommand, object())
    return auto.LocalWorkspace(work_dir=str(work_dir), pulumi_command=command)


def test_applied_marker_lives_in_the_stack_config_beside_the_salt(tmp_path: Path) -> None:
    workspace = local_workspace(tmp_path)
    (tmp_path / "Pulumi.s.yaml").write_text("encryptionsalt: v1:abc\n")
    assert applied_hash(workspace, "s") is None
    set_applied_hash(workspace, "s", "h1")
    assert applied_hash(workspace, "s") == "h1"
    text = (tmp_path / "Pulumi.s.yaml").read_text()
    assert "encryptionsalt: v1:abc" in text and APPLIED_HASH in text
    set_applied_hash(workspace, "s", None)
    assert applied_hash(workspace, "s") is None
    assert "encryptionsalt" in (tmp_path / "Pulumi.s.yaml").read_text()


def test_missing_stack_config_means_no_marker(tmp_path: Path) -> None:
    assert applied_hash(local_workspace(tmp_path), "nope") is None


def _command_error(stderr: str, stdout: str = "") -> auto.CommandError:
    return create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=255))


def test_pulumi_errors_keep_only_the_error_lines() -> None:
    exc = _command_error(
        "warning: meh\nerror: the Deployment failed\n  details\n", "Updating (x)\n"
    )
    failure = pulumi_failure("up", exc)
    assert type(failure) is TargetError
    assert failure.message == "pulumi up failed: error: the Deployment failed"
    assert failure.detail == {"action": "up"}


def test_a_locked_stack_is_reported_as_such() -> None:
    exc = _command_error("error: the stack is currently locked by 1 lock(s).")
    assert isinstance(pulumi_failure("up", exc), StackLocked)


def test_progress_relay_drops_repeated_lines() -> None:
    lines: list[str] = []
    relay = ProgressRelay(lines.append)
    for line in ["a", "a", "b", "a"]:
        relay.say(line)
    assert lines == ["a", "b", "a"]
    relay(auto.EngineEvent.from_json({"stdoutEvent": {"message": "x", "color": "never"}}))
    assert lines == ["a", "b", "a"]


@pytest.mark.parametrize("noise", ["", "no error lines here"])
def test_failures_without_error_lines_keep_the_output_tail(noise: str) -> None:
    failure = pulumi_failure("preview", _command_error(noise))
    assert failure.message.startswith("pulumi preview failed: ")
