"""A function's recent log lines on Kubernetes (the target's `LogSource`), in the shape the local
target gives (`{"time", "stream", "message"}`, oldest first) plus the pod each line came from.

Two sources, both read through the Kubernetes API with the control plane's rights (`pods/log`
and `pods` get): the function container's output (the current instance and, after a restart,
the previous one, which is where an OOM kill or a crash left its last words), and `platform`
lines made from the pods' container statuses — each termination (OOMKilled, a crash's exit
code), a crash loop's back-off, an unpullable image — so a log reader sees why a pod restarted.
The API does not tell stdout from stderr: container lines are stream `container`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.errors import TargetError
from engine.kubernetes.cluster_api import Json, KubeApi
from engine.kubernetes.resources import CONTAINER
from engine.kubernetes.rollout import container_statuses

LogLine = dict[str, object]
MAX_LINE_CHARS = 16 * 1024
BAD_REQUEST = 400
QUIET_WAITING = frozenset({"ContainerCreating", "PodInitializing"})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime | None:
    """RFC 3339 with up to nanoseconds (`2026-01-02T03:04:05.123456789Z`), which
    `fromisoformat` takes only to microseconds."""
    stamp = text.strip().replace("Z", "+00:00")
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_container_log(text: str, pod: str) -> list[tuple[datetime, LogLine]]:
    """`kubectl logs --timestamps` text: each line starts with its RFC 3339 time."""
    lines: list[tuple[datetime, LogLine]] = []
    for raw in text.splitlines():
        stamp, _, message = raw.partition(" ")
        moment = parse_time(stamp)
        if moment is None:
            continue
        line: LogLine = {
            "time": _iso(moment),
            "stream": "container",
            "message": message[:MAX_LINE_CHARS],
            "pod": pod,
        }
        lines.append((moment, line))
    return lines


def platform_lines(pod: Mapping[str, Any]) -> list[tuple[datetime, LogLine]]:
    """What the pod's statuses say happened to its containers, as log lines."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    lines: list[tuple[datetime, LogLine]] = []
    for status in container_statuses(pod):
        container = status.get("name", "")
        restarts = int(status.get("restartCount") or 0)
        for state in ((status.get("lastState") or {}), (status.get("state") or {})):
            ended = state.get("terminated")
            if ended:
                lines += _line(name, ended.get("finishedAt"), _termination(container, ended))
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in QUIET_WAITING:
            text = f"container {container} waiting: {waiting['reason']}"
            text += f" ({restarts} restarts)" if restarts else ""
            detail = str(waiting.get("message") or "").splitlines()
            lines += _line(name, None, f"{text}: {detail[0]}" if detail else text)
    return lines


def _termination(container: object, ended: Mapping[str, Any]) -> str:
    reason, code = ended.get("reason") or "Terminated", ended.get("exitCode")
    if reason == "OOMKilled":
        return f"container {container} killed: memory limit exceeded (OOMKilled, exit code {code})"
    return f"container {container} exited: {reason} (exit code {code})"


def _line(pod: str, when: object, message: str) -> list[tuple[datetime, LogLine]]:
    moment = parse_time(str(when)) if when else datetime.now(UTC)
    moment = moment or datetime.now(UTC)
    line: LogLine = {"time": _iso(moment), "stream": "platform", "message": message, "pod": pod}
    return [(moment, line)]


def pod_log(api: KubeApi, namespace: str, pod: str, limit: int, *, previous: bool) -> str:
    """The function container's output; "" when that instance has none to give (it is
    waiting to start, or was never restarted), which the API answers with a 400."""
    params: dict[str, str | int] = {"container": CONTAINER, "timestamps": "true"}
    params["tailLines"] = limit
    if previous:
        params["previous"] = "true"
    try:
        return api.text(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params) or ""
    except TargetError as exc:
        if exc.detail.get("status") == BAD_REQUEST:
            return ""
        raise


def _instances(pod: Mapping[str, Any]) -> list[bool]:
    """Which instances of the function container have output: `previous=True` after a
    restart, the current one once it has started."""
    statuses = [s for s in container_statuses(pod) if s.get("name") == CONTAINER]
    restarted = any(int(s.get("restartCount") or 0) for s in statuses)
    state = (statuses[0].get("state") or {}) if statuses else {}
    started = bool(state.get("running") or state.get("terminated"))
    return [previous for previous, has in ((True, restarted), (False, started)) if has]


def recent_lines(api: KubeApi, namespace: str, pods: Sequence[Json], limit: int) -> list[LogLine]:
    """The last `limit` lines over every pod of the function, oldest first."""
    found: list[tuple[datetime, LogLine]] = []
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name", ""))
        for previous in _instances(pod):
            text = pod_log(api, namespace, name, limit, previous=previous)
            found += parse_container_log(text, name)
        found += platform_lines(pod)
    found.sort(key=lambda item: item[0])
    return [line for _, line in found[-limit:]]
