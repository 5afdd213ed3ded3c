"""Waiting for a function's rollout, and for its pods to go after a delete: polls the
Kubernetes API (`KubeApi`) and lets `rollout.observe` judge what it read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from engine.errors import TargetError
from engine.kubernetes import names
from engine.kubernetes.cluster_api import Json, KubeApi
from engine.kubernetes.resources import CONTAINER
from engine.kubernetes.rollout import (
    ClusterState,
    StartFailure,
    metadata_of,
    observe,
    unready_running,
)

POLL_S = 0.3
LOG_TAIL_LINES = 20


# --- reading the cluster ---------------------------------------------------------------------
def _items(found: Json | None) -> list[Json]:
    return list((found or {}).get("items") or [])


def selector(key: str) -> dict[str, str]:
    return {"labelSelector": f"{names.KEY_LABEL}={names.check_key(key)}"}


def function_pods(api: KubeApi, namespace: str, key: str) -> list[Json]:
    return _items(api.get(f"/api/v1/namespaces/{namespace}/pods", selector(key)))


def read_state(api: KubeApi, namespace: str, key: str, need_ingress: bool) -> ClusterState:
    name = names.object_name(key)
    ns = f"/namespaces/{namespace}"
    pods = function_pods(api, namespace, key)
    events: list[Json] = []
    for pod in unready_running(pods):
        field = f"involvedObject.name={metadata_of(pod).get('name')}"
        events += _items(api.get(f"/api/v1{ns}/events", {"fieldSelector": field}))
    return ClusterState(
        deployment=api.get(f"/apis/apps/v1{ns}/deployments/{name}"),
        replica_sets=_items(api.get(f"/apis/apps/v1{ns}/replicasets", selector(key))),
        pods=pods,
        endpoints=api.get(f"/api/v1{ns}/endpoints/{name}"),
        ingress=api.get(f"/apis/networking.k8s.io/v1{ns}/ingresses/{name}")
        if need_ingress
        else None,
        need_ingress_address=need_ingress,
        events=events,
    )


def with_output(api: KubeApi, namespace: str, failure: StartFailure) -> StartFailure:
    """A failure without the container's last words gets the tail of its log (`pods/log`)."""
    if failure.output:
        return failure
    params: dict[str, str | int] = {"container": CONTAINER, "tailLines": LOG_TAIL_LINES}
    try:
        text = api.text(f"/api/v1/namespaces/{namespace}/pods/{failure.pod}/log", params)
    except TargetError:
        return failure
    return replace(failure, output=(text or "").strip())


def wait_for_rollout(
    api: KubeApi,
    namespace: str,
    key: str,
    *,
    timeout_s: float,
    need_ingress: bool,
    progress: Callable[[str], None],
) -> None:
    """Returns once the rollout is done; a start failure or the timeout is a TargetError."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = observe(read_state(api, namespace, key, need_ingress))
        if view.failure is not None:
            raise with_output(api, namespace, view.failure).error(key)
        progress(view.summary)
        if view.done:
            return
        if time.monotonic() >= deadline:
            raise TargetError(
                f"function {key} was not ready after {timeout_s:.0f}s: {view.summary}",
                detail={"reason": "RolloutTimeout", "status": view.summary},
            )
        time.sleep(POLL_S)


def wait_for_pods_gone(
    api: KubeApi, namespace: str, key: str, *, timeout_s: float, progress: Callable[[str], None]
) -> bool:
    """After a delete: True once no pod of the function is left (they stop after their
    preStop pause); False if some still run at the timeout (they are the kubelet's to stop)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = function_pods(api, namespace, key)
        if not left:
            return True
        progress(f"waiting for {len(left)} pod{'s' * (len(left) != 1)} to stop")
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
