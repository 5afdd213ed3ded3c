"""Is a function's rollout done, still going, or failing — read from the Kubernetes API.

`pulumi up` only applies the objects (their awaits are skipped, see `resources.py`); the target
then waits here until the Deployment's new ReplicaSet has every replica ready, no old pod is
left running, the Service's endpoints are exactly the new pods (so every request now reaches
new code) and, unless told not to, the Ingress has a load-balancer address. A pod that cannot
start — crash-looping, killed over its memory limit, its image unpullable — fails the wait at
once with the reason the kubelet gives, instead of after the timeout; so does a handler that
fails to load (its health answers 500, which the kubelet's probe events say), with the pod's
last output.

Pure: manifests in, a `RolloutView` out (`observe`); `rollout_wait.py` polls the cluster
through `KubeApi` and hands what it read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import TargetError
from engine.kubernetes.cluster_api import Json
from engine.kubernetes.resources import CONTAINER

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
CRASH_WAITING = frozenset({"CrashLoopBackOff"})
STUCK_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
"""Waiting reasons that do not resolve by waiting (an image pull is retried, but backs off)."""
CRASHES_BEFORE_FAILING = 2
LOAD_ERROR_STATUS = 500
LOAD_ERROR_PROBE = f"Readiness probe failed: HTTP probe failed with statuscode: {LOAD_ERROR_STATUS}"


@dataclass(frozen=True)
class StartFailure:
    """Why the function's new pods cannot become ready, as the kubelet reports it."""

    reason: str
    """`OOMKilled`, `CrashLoopBackOff`, `ImagePullBackOff`, … (the kubelet's words)."""
    message: str
    pod: str
    exit_code: int | None = None
    restarts: int = 0
    output: str = ""
    """The container's last output on a crash (its termination message)."""

    def error(self, key: str) -> TargetError:
        detail: dict[str, object] = {"reason": self.reason, "pod": self.pod}
        detail |= {"restarts": self.restarts}
        if self.exit_code is not None:
            detail["exit_code"] = self.exit_code
        if self.output:
            detail["output"] = self.output
        return TargetError(f"function {key} cannot start: {self.message}", detail=detail)


@dataclass(frozen=True)
class RolloutView:
    done: bool
    summary: str
    failure: StartFailure | None = None


@dataclass(frozen=True)
class ClusterState:
    """What `observe` looks at, as the API returned it (None: not found)."""

    deployment: Json | None
    replica_sets: Sequence[Json] = ()
    pods: Sequence[Json] = ()
    endpoints: Json | None = None
    ingress: Json | None = None
    need_ingress_address: bool = False
    events: Sequence[Json] = ()
    """Events of the new pods that run but are not ready (why the probe fails)."""


def metadata_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def new_template_hash(deployment: Json, replica_sets: Sequence[Json]) -> str | None:
    """The pod-template hash of the Deployment's current ReplicaSet (same revision)."""
    revision = (metadata_of(deployment).get("annotations") or {}).get(REVISION)
    for rs in replica_sets:
        meta = metadata_of(rs)
        if revision and (meta.get("annotations") or {}).get(REVISION) == revision:
            found = (meta.get("labels") or {}).get(TEMPLATE_HASH)
            return str(found) if found else None
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = _status(pod).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return bool(metadata_of(pod).get("deletionTimestamp"))


def container_statuses(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = _status(pod)
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def start_failure(pod: Mapping[str, Any]) -> StartFailure | None:
    """The reason one of the pod's containers cannot start, or None while it may still."""
    name = str(metadata_of(pod).get("name", ""))
    for status in container_statuses(pod):
        found = _container_failure(name, status)
        if found is not None:
            return found
    return None


def _container_failure(pod: str, status: Mapping[str, Any]) -> StartFailure | None:
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    last = (status.get("lastState") or {}).get("terminated") or state.get("terminated") or {}
    restarts = int(status.get("restartCount") or 0)
    container = status.get("name", CONTAINER)
    reason = str(waiting.get("reason") or "")
    if reason in STUCK_WAITING and not _transient(str(waiting.get("message") or "")):
        message = f"container {container}: {reason}: {waiting.get('message', '')}".strip()
        return StartFailure(reason, message.rstrip(": "), pod, restarts=restarts)
    crashed = reason in CRASH_WAITING or restarts >= CRASHES_BEFORE_FAILING
    if last.get("reason") == "OOMKilled" or (crashed and last):
        return _crash(pod, str(container), last, restarts, reason)
    return None


TRANSIENT_MESSAGES = ("failed to sync secret cache", "failed to sync configmap cache")
"""A kubelet that has not yet watched a new Secret/ConfigMap says so, then retries: waiting."""


def _transient(message: str) -> bool:
    return any(part in message for part in TRANSIENT_MESSAGES)


def _crash(
    pod: str, container: str, last: Mapping[str, Any], restarts: int, waiting: str
) -> StartFailure:
    why = str(last.get("reason") or waiting or "Error")
    code = last.get("exitCode")
    if why == "OOMKilled":
        message = f"container {container} was killed for exceeding its memory limit (OOMKilled)"
    else:
        message = f"container {container} keeps exiting ({why}, exit code {code})"
    message += f"; restarted {restarts} time{'s' * (restarts != 1)}"
    output = str(last.get("message") or "").strip()
    exit_code = code if isinstance(code, int) else None
    return StartFailure(why, message, pod, exit_code, restarts, output)


def ready_addresses(endpoints: Json | None) -> set[str]:
    subsets = (endpoints or {}).get("subsets") or []
    return {str(a.get("ip")) for s in subsets for a in s.get("addresses") or []}


def _waiting_reason(pods: Sequence[Json]) -> str:
    for pod in pods:
        for status in container_statuses(pod):
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason:
                return str(reason)
        for condition in _status(pod).get("conditions") or []:
            if condition.get("status") == "False" and condition.get("reason"):
                return str(condition["reason"])
    return ""


def observe(state: ClusterState) -> RolloutView:
    """Where the rollout stands (pure)."""
    dep = state.deployment
    if dep is None:
        return RolloutView(False, "waiting for the Deployment")
    if int(_status(dep).get("observedGeneration") or 0) < int(
        metadata_of(dep).get("generation") or 0
    ):
        return RolloutView(False, "waiting for the Deployment controller")
    live = new_pods(dep, state)
    for pod in live:
        failure = start_failure(pod) or load_failure(pod, state.events)
        if failure is not None:
            return RolloutView(False, failure.message, failure)
    return _serving(dep, live, state)


def old_pods(live: Sequence[Json], state: ClusterState) -> list[Json]:
    """Pods of the function that are not the new ones: older ReplicaSets' and terminating ones
    (still serving in their preStop pause, to connections made before they left the endpoints)."""
    names_of_new = {metadata_of(p).get("name") for p in live}
    return [p for p in state.pods if metadata_of(p).get("name") not in names_of_new]


def load_failure(pod: Mapping[str, Any], events: Sequence[Json]) -> StartFailure | None:
    """The readiness probe got a 500 from the wrapper's health: the handler did not load
    (a syntax error, a missing module, Go code that does not compile)."""
    name = str(metadata_of(pod).get("name", ""))
    for event in events:
        if (event.get("involvedObject") or {}).get("name") != name:
            continue
        message = str(event.get("message") or "")
        if event.get("reason") == "Unhealthy" and LOAD_ERROR_PROBE in message:
            text = f"the handler failed to load (its health check answers {LOAD_ERROR_STATUS})"
            return StartFailure("HandlerLoadError", text, name)
    return None


def unready_running(pods: Sequence[Json]) -> list[Json]:
    """Pods whose function container runs but is not ready: only their events are read."""
    return [
        p
        for p in pods
        if not is_ready(p)
        and any((s.get("state") or {}).get("running") for s in container_statuses(p))
    ]


def new_pods(deployment: Json, state: ClusterState) -> list[Json]:
    """The running (not terminating) pods of the Deployment's current ReplicaSet."""
    template = new_template_hash(deployment, state.replica_sets)
    return [
        p
        for p in state.pods
        if template
        and (metadata_of(p).get("labels") or {}).get(TEMPLATE_HASH) == template
        and not is_terminating(p)
    ]


def _serving(dep: Json, live: Sequence[Json], state: ClusterState) -> RolloutView:
    """Done once every wanted replica is ready, the endpoints (and the Ingress, if asked) point
    at exactly the new pods and no old pod is left: then only the new code can answer."""
    want = int((dep.get("spec") or {}).get("replicas", 1))
    ready = [p for p in live if is_ready(p)]
    summary = f"pods: {len(ready)}/{want} ready"
    waiting: str | None = None
    if len(ready) < want:
        reason = _waiting_reason(live)
        waiting = f" ({reason})" if reason else ""
    elif ready_addresses(state.endpoints) != {str(_status(p).get("podIP")) for p in ready}:
        waiting = ", waiting for the Service's endpoints"
    elif int(_status(dep).get("replicas") or 0) > want or old_pods(live, state):
        waiting = ", old pods stopping"
    elif state.need_ingress_address and not _ingress_address(state.ingress):
        waiting = ", waiting for the Ingress's address"
    if waiting is not None:
        return RolloutView(False, summary + waiting)
    return RolloutView(True, f"{summary}, serving")


def _ingress_address(ingress: Json | None) -> bool:
    load_balancer = _status(ingress or {}).get("loadBalancer") or {}
    return bool(load_balancer.get("ingress"))
