"""The per-function program under Pulumi mocks, for both code stores (ConfigMap and S3)."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from engine.kubernetes import names
from engine.kubernetes.program import (
    CONFIGMAP_TYPE,
    DEPLOYMENT_TYPE,
    INGRESS_TYPE,
    S3_OBJECT_TYPE,
    SERVICE_TYPE,
    artifact_options,
    await_options,
    planned_resources,
)
from engine.kubernetes.resources import CODE_VOLUME
from tests.fixtures.k8s_specs import (
    CLUSTER_IP,
    KEY,
    NODE_PORT,
    ProgramRun,
    make_config,
    make_spec,
    run_program,
)

K8S_PROVIDER = "pulumi:providers:kubernetes"
AWS_PROVIDER = "pulumi:providers:aws"
OBJECT_NAME = f"lc-{KEY}"
LABELS = {
    "app.kubernetes.io/name": "lambdaclone-function",
    "lambdaclone.dev/key": KEY,
    "app.kubernetes.io/managed-by": "lambdaclone",
}


@pytest.fixture(params=["configmap", "s3"])
def store_run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(make_spec(), make_config(code_store=request.param))


def test_configmap_store_declares_exactly_the_function_resources() -> None:
    run = run_program(make_spec(), make_config())
    assert sorted(r.type for r in run.resources) == sorted(
        [
            K8S_PROVIDER,
            names.COMPONENT_TYPE,
            CONFIGMAP_TYPE,
            DEPLOYMENT_TYPE,
            SERVICE_TYPE,
            INGRESS_TYPE,
        ]
    )


def test_s3_store_declares_the_object_and_an_aws_provider_instead_of_a_configmap() -> None:
    run = run_program(make_spec(), make_config(code_store="s3"))
    assert run.types == {
        K8S_PROVIDER,
        AWS_PROVIDER,
        names.COMPONENT_TYPE,
        S3_OBJECT_TYPE,
        DEPLOYMENT_TYPE,
        SERVICE_TYPE,
        INGRESS_TYPE,
    }
    assert not run.of_type(CONFIGMAP_TYPE)


@pytest.mark.parametrize("store", ["configmap", "s3"])
def test_planned_resources_match_what_the_program_declares(store: str) -> None:
    cfg = make_config(code_store=store)
    run = run_program(make_spec(), cfg)
    declared = {(r.name, r.type) for r in run.resources if not r.type.startswith("pulumi:")}
    planned = {(c.name, c.type) for c in planned_resources(make_spec(), cfg)}
    assert planned == declared
    assert {c.op for c in planned_resources(make_spec(), cfg)} == {"create"}


def test_every_cluster_object_has_the_derived_name_labels_and_namespace(
    store_run: ProgramRun,
) -> None:
    kinds = [DEPLOYMENT_TYPE, SERVICE_TYPE, INGRESS_TYPE]
    kinds += [CONFIGMAP_TYPE] if store_run.of_type(CONFIGMAP_TYPE) else []
    for kind in kinds:
        meta = store_run.one(kind).metadata
        assert meta["name"] == OBJECT_NAME
        assert meta["namespace"] == "fns"
        assert meta["labels"] == LABELS


def test_kubernetes_resources_use_the_explicit_provider(store_run: ProgramRun) -> None:
    for kind in (DEPLOYMENT_TYPE, SERVICE_TYPE, INGRESS_TYPE):
        provider = store_run.one(kind).provider or ""
        assert "pulumi:providers:kubernetes::kubernetes" in provider
    provider_inputs = store_run.one(K8S_PROVIDER).inputs
    assert provider_inputs["namespace"] == "fns"
    assert provider_inputs["enableServerSideApply"] == "true"
    assert provider_inputs["enableConfigMapMutable"] == "true"
    assert provider_inputs["kubeconfig"].startswith("apiVersion: v1")


def test_configmap_holds_the_code_under_the_wrappers_file_name() -> None:
    run = run_program(make_spec(), make_config())
    configmap = run.one(CONFIGMAP_TYPE)
    assert configmap.inputs["data"] == {"handler.py": make_spec().code}
    volumes = {v["name"]: v for v in run.pod_spec["volumes"]}
    assert volumes[CODE_VOLUME]["configMap"]["name"] == OBJECT_NAME
    assert "initContainers" not in run.pod_spec


def test_s3_object_is_keyed_by_function_and_code_digest() -> None:
    spec = make_spec()
    run = run_program(spec, make_config(code_store="s3", bucket="code-bucket"))
    obj = run.one(S3_OBJECT_TYPE)
    assert obj.inputs["bucket"] == "code-bucket"
    assert obj.inputs["key"] == f"functions/{KEY}/{spec.code_sha256}.py"
    assert obj.inputs["content"] == spec.code
    assert "pulumi:providers:aws::aws" in (obj.provider or "")


def test_s3_variant_fetches_the_object_with_an_init_container_into_an_empty_dir() -> None:
    spec = make_spec()
    cfg = make_config(code_store="s3", bucket="b", s3_endpoint_url="http://s3.local:9000")
    pod = run_program(spec, cfg).pod_spec
    (init,) = pod["initContainers"]
    assert init["command"][:4] == [
        "aws",
        "s3",
        "cp",
        f"s3://b/functions/{KEY}/{spec.code_sha256}.py",
    ]
    assert init["command"][4] == "/var/task/handler.py"
    assert init["command"][-2:] == ["--endpoint-url", "http://s3.local:9000"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[CODE_VOLUME] == {"name": CODE_VOLUME, "emptyDir": {}}
    assert init["securityContext"]["readOnlyRootFilesystem"] is True


def test_s3_aws_provider_points_at_a_custom_endpoint() -> None:
    cfg = make_config(
        code_store="s3", s3_endpoint_url="http://s3.local:9000", s3_region="eu-west-1"
    )
    provider = run_program(make_spec(), cfg).one(AWS_PROVIDER).inputs
    assert provider["region"] == "eu-west-1"
    assert "http://s3.local:9000" in str(provider["endpoints"])
    assert provider["s3UsePathStyle"] == "true"


def test_the_shared_s3_object_is_retained_for_the_code_store_to_delete() -> None:
    shared = make_config(code_store="s3", bucket="b", code_store_bucket="b")
    own = make_config(code_store="s3", bucket="b", code_store_bucket=None)
    assert artifact_options(shared).retain_on_delete is True
    assert artifact_options(own).retain_on_delete is False


@pytest.mark.parametrize("store", ["configmap", "s3"])
def test_a_code_change_changes_the_pod_template_annotation(store: str) -> None:
    cfg = make_config(code_store=store)
    before = run_program(make_spec(), cfg).one(DEPLOYMENT_TYPE).inputs
    changed = make_spec(code=make_spec().code + "# v2\n")
    after = run_program(changed, cfg).one(DEPLOYMENT_TYPE).inputs
    annotation = names.CODE_HASH_ANNOTATION
    old = before["spec"]["template"]["metadata"]["annotations"][annotation]
    new = after["spec"]["template"]["metadata"]["annotations"][annotation]
    assert old == make_spec().code_sha256
    assert new == changed.code_sha256 != old


def test_the_catalogs_image_and_run_command_are_what_the_pods_run() -> None:
    """The image a revision was written with (its catalog entry's), not one derived from the
    runtime's name: a catalog image change rolls the pods."""
    digest = "registry.example/lc/python@sha256:" + "a" * 64
    spec = replace(make_spec(image=digest), run_command="/opt/run --fast")
    (container,) = run_program(spec, make_config()).pod_spec["containers"]
    assert container["image"] == spec.image
    assert container["command"] == ["/opt/run", "--fast"]
    (plain,) = run_program(replace(spec, run_command=""), make_config()).pod_spec["containers"]
    assert "command" not in plain


def test_an_unchanged_spec_gives_an_identical_deployment() -> None:
    cfg = make_config()
    first = run_program(make_spec(), cfg).one(DEPLOYMENT_TYPE).inputs
    second = run_program(make_spec(), cfg).one(DEPLOYMENT_TYPE).inputs
    assert first == second


def test_deployment_runs_the_runtime_image_with_the_wrapper_contract(store_run: ProgramRun) -> None:
    deployment = store_run.one(DEPLOYMENT_TYPE).inputs
    assert deployment["spec"]["selector"]["matchLabels"] == names.selector_labels(KEY)
    assert deployment["spec"]["template"]["metadata"]["labels"] == LABELS
    (container,) = store_run.pod_spec["containers"]
    assert container["image"] == make_spec().image == "lambdaclone/runtime-python:3.12"
    assert container["command"] == shlex.split(make_spec().run_command)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LAMBDA_PATH_PREFIX"] == f"/endpoint/{KEY}"
    assert env["LAMBDA_CODE_DIR"] == "/var/task"
    assert env["LAMBDA_HANDLER"] == "handler.handler"
    assert env["LAMBDA_FUNCTION_KEY"] == KEY
    assert env["LAMBDA_MEMORY_MB"] == "256"
    assert env["LAMBDA_TIMEOUT_MS"] == "5000"
    assert env["PORT"] == "8080"
    assert env["HOST"] == "0.0.0.0"
    assert env["GREETING"] == "hi"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/var/task"]["readOnly"] is True


def test_readiness_is_the_wrapper_health_and_liveness_the_port(store_run: ProgramRun) -> None:
    """A handler that fails to load answers health 500 for ever: not ready, never restarted."""
    (container,) = store_run.pod_spec["containers"]
    health = {"path": "/__lambdaclone/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == health
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "http"}


def test_memory_sets_requests_and_limits(store_run: ProgramRun) -> None:
    (container,) = store_run.pod_spec["containers"]
    assert container["resources"]["requests"]["memory"] == "256Mi"
    assert container["resources"]["limits"] == {"memory": "256Mi"}
    assert container["resources"]["requests"]["cpu"] == "145m"


def test_pods_are_locked_down(store_run: ProgramRun) -> None:
    pod = store_run.pod_spec
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_service_is_a_node_port_selecting_the_pods(store_run: ProgramRun) -> None:
    service = store_run.one(SERVICE_TYPE).inputs["spec"]
    assert service["type"] == "NodePort"
    assert service["selector"] == names.selector_labels(KEY)
    assert service["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert store_run.node_port == NODE_PORT
    assert store_run.cluster_ip == CLUSTER_IP, "exported for the `clusterip` upstream"


def test_ingress_routes_the_endpoint_prefix_to_the_service_with_alb_annotations(
    store_run: ProgramRun,
) -> None:
    ingress = store_run.one(INGRESS_TYPE).inputs
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "alb"
    (path,) = spec["rules"][0]["http"]["paths"]
    assert path == {
        "path": f"/endpoint/{KEY}",
        "pathType": "Prefix",
        "backend": {"service": {"name": OBJECT_NAME, "port": {"number": 80}}},
    }
    assert ingress["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/group.name": "lambdaclone",
        "alb.ingress.kubernetes.io/target-type": "instance",
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/healthcheck-path": "/__lambdaclone/health",
        "pulumi.com/skipAwait": "true",
    }


def test_other_ingress_classes_get_no_alb_annotations() -> None:
    cfg = make_config(ingress_class="traefik")
    ingress = run_program(make_spec(), cfg).one(INGRESS_TYPE).inputs
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_pulumi_awaits_nothing_the_target_waits_for_the_rollout(store_run: ProgramRun) -> None:
    """pulumi-kubernetes's Service await sleeps 10 s after each endpoints change; the target
    watches the rollout itself (rollout.py), so every object skips Pulumi's await."""
    for typ in (DEPLOYMENT_TYPE, SERVICE_TYPE, INGRESS_TYPE):
        assert store_run.one(typ).inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == (
            "true"
        )


def test_pods_go_where_the_settings_say() -> None:
    selector = {"lambdaclone.dev/node": "real"}
    toleration = {"key": "lambdaclone.dev/node", "operator": "Equal", "value": "real"}
    cfg = make_config(node_selector=selector, tolerations=(toleration,))
    pod = run_program(make_spec(), cfg).pod_spec
    assert pod["nodeSelector"] == selector
    assert pod["tolerations"] == [toleration]
    default = run_program(make_spec(), make_config()).pod_spec
    assert "nodeSelector" not in default and "tolerations" not in default, "any node (EKS)"


def test_a_replaced_pod_drains_before_it_stops(store_run: ProgramRun) -> None:
    (container,) = store_run.pod_spec["containers"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    # drain + the function's timeout (5 s) + a margin
    assert store_run.pod_spec["terminationGracePeriodSeconds"] == 5 + 5 + 5
    no_drain = run_program(make_spec(), make_config(drain_s=0)).pod_spec
    assert "lifecycle" not in no_drain["containers"][0]


def test_a_crash_leaves_its_last_output_in_the_status(store_run: ProgramRun) -> None:
    (container,) = store_run.pod_spec["containers"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["name"] == "function"


def test_probes_poll_the_start_every_second(store_run: ProgramRun) -> None:
    (container,) = store_run.pod_spec["containers"]
    assert container["startupProbe"]["periodSeconds"] == 1
    assert container["startupProbe"]["failureThreshold"] >= 120, "a Go build at start"
    assert container["readinessProbe"]["periodSeconds"] == 1


def test_awaits_are_bounded_by_the_configured_timeout() -> None:
    timeouts = await_options(make_config(await_timeout_s=42)).custom_timeouts
    assert timeouts is not None
    assert (timeouts.create, timeouts.update) == ("42s", "42s")
