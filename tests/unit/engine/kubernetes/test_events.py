"""Engine events → Plan and progress lines, on events shaped like the CLI's event log."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation import EngineEvent

from engine.kubernetes.events import (
    UNKNOWN,
    UNKNOWN_VALUE,
    lookup,
    parse_path,
    progress_line,
    render,
    resource_changes,
)
from engine.plan import SECRET_MASK, FieldChange

PARENT = "urn:pulumi:lambdaclone-fn-k::lambdaclone-functions::lambdaclone:function:Function"
CM = "kubernetes:core/v1:ConfigMap"
DEPLOY = "kubernetes:apps/v1:Deployment"
CODE_ANNOTATION = 'spec.template.metadata.annotations["lambdaclone.dev/code-sha256"]'


def urn(type_: str, name: str) -> str:
    return f"{PARENT}${type_}::{name}"


def pre_event(
    op: str,
    type_: str,
    name: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    detailed: dict[str, str] | None = None,
    diffs: list[str] | None = None,
) -> EngineEvent:
    metadata: dict[str, Any] = {"op": op, "urn": urn(type_, name), "type": type_, "provider": ""}
    if old is not None:
        metadata["old"] = {
            "type": type_,
            "urn": metadata["urn"],
            "id": name,
            "parent": "",
            "provider": "",
            "inputs": old,
        }
    if new is not None:
        metadata["new"] = {
            "type": type_,
            "urn": metadata["urn"],
            "id": "",
            "parent": "",
            "provider": "",
            "inputs": new,
        }
    if detailed is not None:
        metadata["detailedDiff"] = {
            p: {"diffKind": k, "inputDiff": True} for p, k in detailed.items()
        }
    if diffs is not None:
        metadata["diffs"] = diffs
    return EngineEvent.from_json(
        {"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": metadata}}
    )


def deployment_inputs(code_hash: str, env_value: str) -> dict[str, Any]:
    container = {"name": "function", "env": [{"name": "GREETING", "value": env_value}]}
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {"lambdaclone.dev/code-sha256": code_hash}},
                "spec": {"containers": [container]},
            }
        }
    }


def test_parse_path_handles_quoted_keys_and_indexes() -> None:
    assert parse_path(CODE_ANNOTATION) == [
        "spec",
        "template",
        "metadata",
        "annotations",
        "lambdaclone.dev/code-sha256",
    ]
    assert parse_path("spec.containers[0].env[12].value") == [
        "spec",
        "containers",
        0,
        "env",
        12,
        "value",
    ]
    assert parse_path('data["handler.py"]') == ["data", "handler.py"]


def test_lookup_follows_paths_and_gives_none_when_absent() -> None:
    values = deployment_inputs("aaa", "hi")
    assert lookup(values, CODE_ANNOTATION) == "aaa"
    assert lookup(values, "spec.template.spec.containers[0].env[0].name") == "GREETING"
    assert lookup(values, "spec.template.spec.containers[3]") is None
    assert lookup(values, "spec.nothing.here") is None


def test_a_code_change_plans_configmap_and_deployment_updates_with_masked_values() -> None:
    events = [
        pre_event("same", "lambdaclone:function:Function", "lc-k"),
        pre_event(
            "update",
            CM,
            "code",
            old={"data": {"handler.py": "print(1)"}},
            new={"data": {"handler.py": "print(2)"}},
            detailed={'data["handler.py"]': "update"},
        ),
        pre_event(
            "update",
            DEPLOY,
            "deployment",
            old=deployment_inputs("aaa", "old-secret"),
            new=deployment_inputs("bbb", "new-secret"),
            detailed={
                CODE_ANNOTATION: "update",
                "spec.template.spec.containers[0].env[0].value": "update",
            },
        ),
        pre_event("same", "kubernetes:core/v1:Service", "service"),
    ]
    changes = {c.name: c for c in resource_changes(events)}
    assert {n: c.op for n, c in changes.items()} == {
        "lc-k": "same",
        "code": "update",
        "deployment": "update",
        "service": "same",
    }
    (code_field,) = changes["code"].fields
    assert code_field.path == 'data["handler.py"]'
    assert str(code_field.old).startswith("sha256:") and "print" not in str(code_field.old)
    assert code_field.old != code_field.new
    assert changes["deployment"].fields == (
        FieldChange(CODE_ANNOTATION, "aaa", "bbb"),
        FieldChange("spec.template.spec.containers[0].env[0].value", SECRET_MASK, SECRET_MASK),
    )


def test_providers_and_the_stack_are_left_out() -> None:
    events = [
        pre_event("create", "pulumi:pulumi:Stack", "lambdaclone-functions-lambdaclone-fn-k"),
        pre_event("update", "pulumi:providers:kubernetes", "kubernetes"),
    ]
    assert resource_changes(events) == ()


def test_a_replacement_counts_once_as_replace() -> None:
    type_ = "aws:s3/bucketObjectv2:BucketObjectv2"
    events = [
        pre_event(
            "create-replacement", type_, "code", old={"key": "a"}, new={"key": "b"}, diffs=["key"]
        ),
        pre_event("replace", type_, "code", old={"key": "a"}, new={"key": "b"}, diffs=["key"]),
        pre_event("delete-replaced", type_, "code", old={"key": "a"}),
    ]
    (change,) = resource_changes(events)
    assert change.op == "replace"
    assert change.fields == (FieldChange("key", "a", "b"),)


def test_creates_and_deletes_carry_no_fields() -> None:
    events = [
        pre_event("create", CM, "code", new={"data": {"x": "1"}}),
        pre_event("delete", "kubernetes:networking.k8s.io/v1:Ingress", "ingress", old={}),
    ]
    assert [(c.name, c.op, c.fields) for c in resource_changes(events)] == [
        ("code", "create", ()),
        ("ingress", "delete", ()),
    ]


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        (
            {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"},
            "a",
            SECRET_MASK,
        ),
        ("[secret]", "kubeconfig", SECRET_MASK),
        (UNKNOWN_VALUE, "status", UNKNOWN),
        (
            [{"name": "A", "value": "1"}],
            "spec.containers[0].env",
            [{"name": "A", "value": SECRET_MASK}],
        ),
        (3, "spec.replicas", 3),
    ],
)
def test_render_masks_secrets_env_values_and_unknowns(
    value: object, path: str, expected: object
) -> None:
    assert render(value, path, DEPLOY) == expected


def test_render_shows_s3_object_content_as_a_digest() -> None:
    shown = render("print('hi')", "content", "aws:s3/bucketObjectv2:BucketObjectv2")
    assert isinstance(shown, str) and shown.startswith("sha256:") and shown.endswith("(11 bytes)")


def test_progress_lines_for_steps_failures_diagnostics_and_summary() -> None:
    assert (
        progress_line(pre_event("create", DEPLOY, "deployment")) == "creating Deployment deployment"
    )
    assert progress_line(pre_event("same", DEPLOY, "deployment")) is None
    assert progress_line(pre_event("create", "pulumi:providers:kubernetes", "k")) is None
    done = EngineEvent.from_json(
        {
            "resOutputsEvent": {
                "metadata": {"op": "update", "urn": urn(CM, "code"), "type": CM, "provider": ""}
            }
        }
    )
    assert progress_line(done) == "updated ConfigMap code"
    failed = EngineEvent.from_json(
        {
            "resOpFailedEvent": {
                "metadata": {
                    "op": "create",
                    "urn": urn(DEPLOY, "d"),
                    "type": DEPLOY,
                    "provider": "",
                }
            }
        }
    )
    assert progress_line(failed) == "failed to create Deployment d"
    waiting = EngineEvent.from_json(
        {
            "diagnosticEvent": {
                "message": "\x1b[1m[1/2] Waiting for app ReplicaSet to be available\x1b[0m\n",
                "color": "never",
                "severity": "info",
                "urn": urn(DEPLOY, "deployment"),
            }
        }
    )
    assert progress_line(waiting) == "deployment: [1/2] Waiting for app ReplicaSet to be available"
    error = EngineEvent.from_json(
        {"diagnosticEvent": {"message": "boom\nmore", "color": "never", "severity": "error"}}
    )
    assert progress_line(error) == "error: boom"
    summary = EngineEvent.from_json(
        {
            "summaryEvent": {
                "durationSeconds": 7,
                "resourceChanges": {"create": 4, "same": 1, "update": 1},
            }
        }
    )
    assert progress_line(summary) == "done in 7s: 4 created, 1 updated"
    debug = EngineEvent.from_json(
        {"diagnosticEvent": {"message": "x", "color": "never", "severity": "debug"}}
    )
    assert progress_line(debug) is None


def test_long_progress_lines_are_clipped() -> None:
    event = EngineEvent.from_json(
        {"diagnosticEvent": {"message": "x" * 500, "color": "never", "severity": "warning"}}
    )
    line = progress_line(event)
    assert line is not None and len(line) == 200 and line.endswith("…")


def test_the_plugin_from_path_warning_is_not_progress() -> None:
    message = "using pulumi-resource-kubernetes from $PATH at /x/pulumi-resource-kubernetes"
    event = EngineEvent.from_json(
        {"diagnosticEvent": {"message": message, "color": "never", "severity": "warning"}}
    )
    assert progress_line(event) is None
