"""One function's whole life on the test cluster with the real pulumi CLI and provider:
create, preview a code change, update (pods roll), no-op update, delete (nothing left)."""

from __future__ import annotations

import asyncio

import pytest

from engine.keys import new_key
from engine.kubernetes import names
from engine.kubernetes.target import KubernetesTarget
from tests.fixtures.k8s_cluster import PYTHON_CODE, Cluster, function_spec, wait_for

pytestmark = pytest.mark.cluster

CODE_V2 = PYTHON_CODE.replace("world", "again")


def test_create_preview_update_noop_delete(target: KubernetesTarget, cluster: Cluster) -> None:
    key = new_key()
    lines: list[str] = []
    spec = function_spec(key)

    target.apply(spec, lines.append)
    assert cluster.is_available(key)
    assert any(line.startswith("creating Deployment") for line in lines)
    assert any(line.startswith("done in") for line in lines)
    _check_objects(cluster, key, spec.code_sha256)

    changed = function_spec(key, code=CODE_V2)
    plan = target.preview(spec, changed)
    ops = {(change.name, change.op) for change in plan.resources}
    assert ("code", "update") in ops
    assert ("deployment", "update") in ops
    assert ("service", "update") not in ops
    assert "code_sha256" in {field.path for field in plan.fields}
    deployment_change = next(c for c in plan.resources if c.name == "deployment")
    annotation = next(f for f in deployment_change.fields if names.CODE_HASH_ANNOTATION in f.path)
    assert (annotation.old, annotation.new) == (spec.code_sha256, changed.code_sha256)

    before = {rs.metadata.name for rs in cluster.replica_sets(key)}
    target.apply(changed, lines.append)
    after = cluster.replica_sets(key)
    new_sets = [rs for rs in after if rs.metadata.name not in before]
    assert len(new_sets) == 1, "a code change rolls the pods onto a new ReplicaSet"
    template = new_sets[0].spec.template.metadata.annotations
    assert template[names.CODE_HASH_ANNOTATION] == changed.code_sha256
    assert cluster.configmap(key).data == {"handler.py": CODE_V2}
    assert cluster.is_available(key)

    generation = cluster.deployment(key).metadata.generation
    noop: list[str] = []
    target.apply(changed, noop.append)
    assert noop == ["no changes: this spec is already applied (pulumi up skipped)"]
    assert cluster.deployment(key).metadata.generation == generation
    assert target.preview(changed, changed).resources == ()

    target.destroy(key, lines.append)
    _check_nothing_left(target, cluster, key)
    target.destroy(key, lines.append)
    assert lines[-1].startswith("nothing to delete")


def _check_objects(cluster: Cluster, key: str, code_sha: str) -> None:
    name = names.object_name(key)
    deployment = cluster.deployment(key)
    template = deployment.spec.template
    assert template.metadata.annotations[names.CODE_HASH_ANNOTATION] == code_sha
    assert template.spec.automount_service_account_token is False
    (container,) = template.spec.containers
    assert container.image == "lambdaclone/runtime-python:3.12"
    assert container.security_context.read_only_root_filesystem is True
    assert container.readiness_probe.http_get.path == "/__lambdaclone/health"
    env = {e.name: e.value for e in container.env}
    assert env["LAMBDA_PATH_PREFIX"] == f"/endpoint/{key}"
    service = cluster.service(key)
    assert service.spec.type == "NodePort"
    assert service.spec.selector == names.selector_labels(key)
    assert service.spec.ports[0].node_port
    ingress = cluster.ingress(key)
    rule_path = ingress.spec.rules[0].http.paths[0]
    assert (rule_path.path, rule_path.path_type) == (f"/endpoint/{key}", "Prefix")
    assert rule_path.backend.service.name == name
    annotations = ingress.metadata.annotations
    assert annotations["alb.ingress.kubernetes.io/group.name"] == "lambdaclone"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "instance"
    assert ingress.metadata.labels == names.labels(key)


def _check_nothing_left(target: KubernetesTarget, cluster: Cluster, key: str) -> None:
    assert key not in target.service.stack_keys()
    assert not target.service.layout.workspace(key).exists()
    leftovers = target.service.layout.stack_leftovers(key)
    assert not [path for path in leftovers if path.exists()]
    wait_for(lambda: not cluster.objects_of(key), 60, f"no objects of {key}")


def test_preview_of_a_new_function_changes_nothing(target: KubernetesTarget) -> None:
    key = new_key()
    plan = target.preview(None, function_spec(key))
    assert {change.op for change in plan.resources} == {"create"}
    assert {change.name for change in plan.resources} >= {
        "code",
        "deployment",
        "service",
        "ingress",
    }
    assert not target.service.layout.workspace(key).exists()
    assert key not in target.service.stack_keys()


def test_deleting_an_unknown_function_is_a_no_op(target: KubernetesTarget) -> None:
    lines: list[str] = []
    target.destroy(new_key(), lines.append)
    assert lines and lines[0].startswith("nothing to delete")


def test_upstream_is_the_service_address(target: KubernetesTarget, cluster: Cluster) -> None:
    key = new_key()
    target.apply(function_spec(key), lambda _line: None)
    target._upstreams.clear()
    upstream = asyncio.run(target.upstream(key))
    assert (upstream.host, upstream.port) == (f"lc-{key}.{cluster.namespace}.svc.cluster.local", 80)
    assert upstream.path_prefix == f"/endpoint/{key}"
    assert (upstream.timeout_ms, upstream.concurrency) == (3000, 2)
