"""The target contract (engine/target.py), one suite for every backend: the fake the API tests
use, the local target and the Kubernetes target on the test cluster. A new target must pass it.

Targets that serve (`Contract.serves`) must also answer the wrapper's health check through the
upstream they hand out; the fake never serves, and the Kubernetes target's pods only serve on a
real node (the kwok nodes run no containers): `kubernetes-real` runs it there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from engine.errors import FunctionNotFound, FunctionNotReady
from engine.formats import endpoint_path
from engine.spec import FunctionSpec
from engine.target import Target, Upstream
from runtimes.contract import HEALTH_PATH
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.k8s_cluster import cluster, k8s_settings, k8s_target, real_k8s_target
from tests.fixtures.local_targets import TargetFactory, make_target
from tests.fixtures.real_cluster import real_cluster
from tests.fixtures.specs import make_spec

__all__ = [
    "cluster",
    "k8s_settings",
    "k8s_target",
    "make_target",
    "real_cluster",
    "real_k8s_target",
]

CODE = "def handler(event, context):\n    return {'ok': True}\n"


@dataclass(frozen=True)
class Contract:
    target: Target
    serves: bool


@pytest.fixture(
    params=[
        "fake",
        "local",
        pytest.param("kubernetes", marks=pytest.mark.cluster),
        pytest.param("kubernetes-real", marks=[pytest.mark.cluster, pytest.mark.real_node]),
    ]
)
def contract(request: pytest.FixtureRequest) -> Iterator[Contract]:
    if request.param == "fake":
        yield Contract(FakeTarget(progress_lines=1), serves=False)
    elif request.param == "local":
        factory: TargetFactory = request.getfixturevalue("make_target")
        yield Contract(factory(), serves=True)
    elif request.param == "kubernetes-real":
        yield Contract(request.getfixturevalue("real_k8s_target"), serves=True)
    else:
        yield Contract(request.getfixturevalue("k8s_target"), serves=False)


def spec(**settings: Any) -> FunctionSpec:
    return make_spec("python", CODE, name="contract", timeout_ms=2000, concurrency=3, **settings)


def upstream(target: Target, key: str) -> Upstream:
    return asyncio.run(target.upstream(key))


def assert_gone(target: Target, key: str) -> None:
    with pytest.raises((FunctionNotFound, FunctionNotReady)):
        upstream(target, key)


def health_status(found: Upstream) -> int:
    """GET the worker's health path where the proxy would send it: its Unix socket (a
    sandboxed local worker) or host:port."""
    transport = httpx.HTTPTransport(uds=found.socket_path) if found.socket_path else None
    with httpx.Client(transport=transport, timeout=10) as client:
        url = f"http://{found.host}:{found.port}{found.path_prefix}{HEALTH_PATH}"
        return client.get(url).status_code


def test_a_function_goes_from_preview_to_deployed_to_destroyed(contract: Contract) -> None:
    target, desired = contract.target, spec()
    plan = target.preview(None, desired)
    assert plan.changed and any(r.op == "create" for r in plan.resources)
    assert_gone(target, desired.key)  # a preview provisions nothing

    lines: list[str] = []
    target.apply(desired, lines.append)
    assert lines and all(isinstance(line, str) for line in lines)
    if contract.serves:
        found = upstream(target, desired.key)
        assert (found.timeout_ms, found.concurrency) == (2000, 3)
        assert found.path_prefix == endpoint_path(desired.key)
        assert health_status(found) == 200

    target.destroy(desired.key, lines.append)
    assert_gone(target, desired.key)
    target.destroy(desired.key, lines.append)  # a second destroy is a no-op


def test_apply_is_safe_to_repeat_and_previews_what_it_would_change(contract: Contract) -> None:
    target, desired = contract.target, spec()
    target.apply(desired, lambda _: None)
    target.apply(desired, lambda _: None)  # after a crash the runner applies again
    assert not target.preview(desired, desired).changed
    changed = replace(desired, code=CODE.replace("True", "False"))
    assert target.preview(desired, changed).changed
    target.apply(changed, lambda _: None)
    target.destroy(desired.key, lambda _: None)


def test_unknown_functions_have_no_upstream_and_recovery_of_nothing_is_quiet(
    contract: Contract,
) -> None:
    assert_gone(contract.target, "nosuchfunction")
    contract.target.destroy("nosuchfunction", lambda _: None)
    contract.target.recover(lambda _: None)
