"""When a rollout is done, still going, or failing: `rollout.observe` on API objects."""

from __future__ import annotations

from typing import Any

import pytest

from engine.kubernetes.rollout import ClusterState, observe, start_failure

HASH = "abc123"


def deployment(generation: int = 2, observed: int = 2, running: int = 1) -> Any:
    """One replica wanted; `running` pods not terminating (status.replicas)."""
    revision = {"deployment.kubernetes.io/revision": "2"}
    return {
        "metadata": {"generation": generation, "annotations": revision},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": observed, "replicas": running},
    }


def replica_set(revision: str, template: str) -> Any:
    return {
        "metadata": {
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "labels": {"pod-template-hash": template},
        }
    }


REPLICA_SETS = (replica_set("1", "old111"), replica_set("2", HASH))


def pod(
    name: str = "lc-k-abc123-x",
    template: str = HASH,
    *,
    ready: bool = True,
    ip: str = "10.88.0.5",
    statuses: list[dict[str, Any]] | None = None,
    terminating: bool = False,
) -> Any:
    meta: dict[str, Any] = {"name": name, "labels": {"pod-template-hash": template}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses or [],
        },
    }


def endpoints(*ips: str) -> Any:
    return {"subsets": [{"addresses": [{"ip": ip} for ip in ips]}]} if ips else {}


def state(**kw: Any) -> ClusterState:
    values: dict[str, Any] = {
        "deployment": deployment(),
        "replica_sets": REPLICA_SETS,
        "pods": [pod()],
        "endpoints": endpoints("10.88.0.5"),
    }
    values.update(kw)
    return ClusterState(**values)


def test_done_once_the_new_pods_are_ready_and_are_the_endpoints() -> None:
    view = observe(state())
    assert view.done and view.failure is None
    assert view.summary == "pods: 1/1 ready, serving"


@pytest.mark.parametrize(
    ("changes", "summary"),
    [
        ({"deployment": None}, "waiting for the Deployment"),
        ({"deployment": deployment(generation=3)}, "waiting for the Deployment controller"),
        ({"pods": [pod(ready=False)]}, "pods: 0/1 ready"),
        ({"pods": [pod(template="old111")]}, "pods: 0/1 ready"),
        ({"pods": [pod(terminating=True)]}, "pods: 0/1 ready"),
        ({"deployment": deployment(running=2)}, "old pods stopping"),
        ({"endpoints": endpoints()}, "waiting for the Service's endpoints"),
        ({"endpoints": endpoints("10.88.0.5", "10.88.0.4")}, "waiting for the Service's end"),
        ({"need_ingress_address": True, "ingress": {}}, "waiting for the Ingress's address"),
    ],
)
def test_not_done_while_anything_still_moves(changes: dict[str, Any], summary: str) -> None:
    view = observe(state(**changes))
    assert not view.done and view.failure is None
    assert summary in view.summary


def test_the_ingress_address_completes_it_when_asked() -> None:
    ingress = {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}}
    assert observe(state(need_ingress_address=True, ingress=ingress)).done


def test_a_waiting_reason_is_shown() -> None:
    statuses = [{"name": "function", "state": {"waiting": {"reason": "ContainerCreating"}}}]
    view = observe(state(pods=[pod(ready=False, statuses=statuses)]))
    assert view.summary == "pods: 0/1 ready (ContainerCreating)"


def oom_status(restarts: int = 1) -> dict[str, Any]:
    return {
        "name": "function",
        "restartCount": restarts,
        "state": {"running": {}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    }


def test_an_oom_kill_fails_the_rollout_at_once() -> None:
    view = observe(state(pods=[pod(ready=False, statuses=[oom_status()])]))
    assert view.failure is not None
    assert view.failure.reason == "OOMKilled"
    assert view.failure.exit_code == 137
    error = view.failure.error("k")
    assert error.detail["reason"] == "OOMKilled"
    assert "memory limit" in error.message


def test_a_crash_loop_fails_with_the_exit_code_and_last_output() -> None:
    status = {
        "name": "function",
        "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 3, "message": "boom\n"}},
    }
    failure = start_failure(pod(ready=False, statuses=[status]))
    assert failure is not None
    assert (failure.reason, failure.exit_code, failure.restarts) == ("Error", 3, 2)
    assert failure.output == "boom"
    assert "keeps exiting (Error, exit code 3); restarted 2 times" in failure.message


def test_a_single_restart_is_not_yet_a_crash_loop() -> None:
    status = {
        "name": "function",
        "restartCount": 1,
        "state": {"running": {}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
    }
    assert start_failure(pod(statuses=[status])) is None


def test_an_unpullable_image_fails_the_rollout() -> None:
    status = {
        "name": "function",
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
    }
    failure = start_failure(pod(ready=False, statuses=[status]))
    assert failure is not None and failure.reason == "ImagePullBackOff"
    assert "not found" in failure.message


def test_a_kubelet_still_syncing_a_new_secret_is_waited_for_a_missing_key_is_not() -> None:
    def waiting(message: str) -> dict[str, Any]:
        state = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
        return {"name": "fetch-artifact", "state": state}

    syncing = waiting("failed to sync secret cache: timed out waiting for the condition")
    assert start_failure(pod(ready=False, statuses=[syncing])) is None
    missing = waiting("couldn't find key token in Secret fns/lc-x")
    failure = start_failure(pod(ready=False, statuses=[missing]))
    assert failure is not None and failure.reason == "CreateContainerConfigError"


def test_old_pods_failing_do_not_fail_the_new_rollout() -> None:
    old = pod(name="old", template="old111", statuses=[oom_status(3)])
    view = observe(state(pods=[pod(), old]))
    assert view.failure is None
    assert "old pods stopping" in view.summary


def test_a_terminating_old_pod_still_serving_its_connections_is_waited_for() -> None:
    draining = pod(name="old", template="old111", ip="10.88.0.4", terminating=True)
    assert observe(state(pods=[pod(), draining])).summary.endswith("old pods stopping")
    assert observe(state(pods=[pod()])).done


def test_a_handler_that_fails_to_load_is_reported_from_the_probe_events() -> None:
    running = [{"name": "function", "state": {"running": {}}, "ready": False}]
    unready = pod(ready=False, statuses=running)
    event = {
        "involvedObject": {"name": unready["metadata"]["name"]},
        "reason": "Unhealthy",
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 500",
    }
    view = observe(state(pods=[unready], events=[event]))
    assert view.failure is not None
    assert view.failure.reason == "HandlerLoadError"
    other = {**event, "message": "Readiness probe failed: connection refused"}
    assert observe(state(pods=[unready], events=[other])).failure is None
