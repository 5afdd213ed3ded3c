"""The Kubernetes target's log lines: container output with the API's timestamps, and platform
lines made from the pods' container statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.errors import TargetError
from engine.kubernetes.pod_logs import (
    parse_container_log,
    parse_time,
    platform_lines,
    recent_lines,
)


def test_nanosecond_timestamps_are_read() -> None:
    assert parse_time("2026-01-02T03:04:05.123456789Z") == datetime(
        2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
    )
    assert parse_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("not-a-time") is None


def test_container_lines_keep_their_message_and_pod() -> None:
    text = "2026-01-02T03:04:05.5Z START RequestId: 1\n2026-01-02T03:04:06Z  indented\n"
    lines = [line for _, line in parse_container_log(text, "lc-k-1")]
    assert lines == [
        {
            "time": "2026-01-02T03:04:05.500+00:00",
            "stream": "container",
            "message": "START RequestId: 1",
            "pod": "lc-k-1",
        },
        {
            "time": "2026-01-02T03:04:06.000+00:00",
            "stream": "container",
            "message": " indented",
            "pod": "lc-k-1",
        },
    ]


def oom_pod() -> dict[str, Any]:
    return {
        "metadata": {"name": "lc-k-1"},
        "status": {
            "containerStatuses": [
                {
                    "name": "function",
                    "restartCount": 2,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {
                        "terminated": {
                            "reason": "OOMKilled",
                            "exitCode": 137,
                            "finishedAt": "2026-01-02T03:04:07Z",
                        }
                    },
                }
            ]
        },
    }


def test_terminations_and_back_offs_become_platform_lines() -> None:
    messages = [line["message"] for _, line in platform_lines(oom_pod())]
    assert messages == [
        "container function killed: memory limit exceeded (OOMKilled, exit code 137)",
        "container function waiting: CrashLoopBackOff (2 restarts): back-off",
    ]


class FakeApi:
    """Answers pod logs; a waiting container's current log is the API's 400."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def text(self, path: str, params: dict[str, Any]) -> str:
        self.asked.append(params)
        if params.get("previous") != "true":
            raise TargetError("waiting to start", detail={"status": 400})
        return "2026-01-02T03:04:06Z MemoryError\n"


def test_recent_lines_merge_the_previous_instance_and_platform_lines_in_order() -> None:
    api = FakeApi()
    lines = recent_lines(api, "fns", [oom_pod()], 10)  # type: ignore[arg-type]
    assert [line["message"] for line in lines][:2] == [
        "MemoryError",
        "container function killed: memory limit exceeded (OOMKilled, exit code 137)",
    ]
    assert api.asked == [
        {"container": "function", "timestamps": "true", "tailLines": 10, "previous": "true"}
    ], "the waiting instance has no log to ask for"
