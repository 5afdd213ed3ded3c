"""Secrets and invoke auth in the per-function program (Pulumi mocks): the values go into the
function's Secret, as a Pulumi secret, and nowhere else; a token-protected function has no
Ingress rule of its own (the control plane's `/endpoint` checks the token)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from engine.errors import TargetError
from engine.keyring import Keyring
from engine.kubernetes import names
from engine.kubernetes.program import (
    CONFIGMAP_TYPE,
    DEPLOYMENT_TYPE,
    INGRESS_TYPE,
    SECRET_TYPE,
    planned_resources,
)
from engine.kubernetes.target import NoSecretOpener
from engine.spec import FunctionSpec
from tests.fixtures.k8s_specs import KEY, make_config, make_spec, run_program
from tests.fixtures.pulumi_mocks import is_secret_input

CANARY = "canary-7f3e1a-do-not-show"
KEYRING = Keyring(os.urandom(32))


def with_secrets(values: dict[str, str | None], base: FunctionSpec | None = None) -> FunctionSpec:
    spec = base or make_spec()
    sealed = KEYRING.seal(values, spec.config.secrets)
    return replace(spec, config=replace(spec.config, secrets=sealed))


def test_the_secret_holds_the_values_as_a_pulumi_secret_and_the_deployment_names_them() -> None:
    spec = with_secrets({"API_TOKEN": CANARY})
    run = run_program(spec, make_config(), KEYRING.open(spec.config.secrets))
    secret = run.one(SECRET_TYPE)
    assert secret.metadata["name"] == f"lc-{KEY}"
    assert secret.metadata["labels"][names.KEY_LABEL] == KEY
    assert is_secret_input(secret.raw_inputs["stringData"])
    assert secret.inputs["stringData"] == {"API_TOKEN": CANARY}
    (container,) = run.pod_spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["API_TOKEN"] == {
        "name": "API_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": f"lc-{KEY}", "key": "API_TOKEN"}},
    }
    for kind in (DEPLOYMENT_TYPE, CONFIGMAP_TYPE, INGRESS_TYPE):
        assert CANARY not in json.dumps(run.one(kind).inputs), kind


def test_a_secret_overrides_a_plain_variable_of_the_same_name_without_a_duplicate() -> None:
    spec = with_secrets({"GREETING": CANARY})  # make_spec's env has GREETING=hi
    run = run_program(spec, make_config(), KEYRING.open(spec.config.secrets))
    (container,) = run.pod_spec["containers"]
    greeting = [e for e in container["env"] if e["name"] == "GREETING"]
    assert greeting == [
        {
            "name": "GREETING",
            "valueFrom": {"secretKeyRef": {"name": f"lc-{KEY}", "key": "GREETING"}},
        }
    ]


def test_changing_a_secret_value_changes_the_pod_template_so_the_pods_roll() -> None:
    first = with_secrets({"API_TOKEN": CANARY})
    second = with_secrets({"API_TOKEN": CANARY + "-2"}, first)

    def annotations(spec: FunctionSpec) -> dict[str, str]:
        run = run_program(spec, make_config(), KEYRING.open(spec.config.secrets))
        template = run.one(DEPLOYMENT_TYPE).inputs["spec"]["template"]
        return dict(template["metadata"]["annotations"])

    before, after = annotations(first), annotations(second)
    assert before[names.SECRETS_ANNOTATION] != after[names.SECRETS_ANNOTATION]
    assert CANARY not in json.dumps(before) + json.dumps(after)
    assert first.spec_hash != second.spec_hash, "so the target applies the change"


def test_without_secrets_there_is_no_secret_object_and_no_fingerprint() -> None:
    run = run_program(make_spec(), make_config())
    assert not run.of_type(SECRET_TYPE)
    template = run.one(DEPLOYMENT_TYPE).inputs["spec"]["template"]
    assert names.SECRETS_ANNOTATION not in template["metadata"]["annotations"]


def test_a_secret_that_could_not_be_opened_fails_the_program() -> None:
    spec = with_secrets({"API_TOKEN": CANARY})
    with pytest.raises(TargetError, match="API_TOKEN"):
        run_program(spec, make_config(), {})


def test_a_token_protected_function_has_no_ingress_rule_of_its_own() -> None:
    spec = make_spec(auth="token")
    cfg = make_config()
    run = run_program(spec, cfg)
    assert not run.of_type(INGRESS_TYPE)
    declared = {(r.name, r.type) for r in run.resources if not r.type.startswith("pulumi:")}
    assert {(c.name, c.type) for c in planned_resources(spec, cfg)} == declared
    assert run_program(make_spec(), cfg).of_type(INGRESS_TYPE), "a public one has one"


def test_planned_resources_list_the_secret_when_there_is_one() -> None:
    spec = with_secrets({"API_TOKEN": CANARY})
    cfg = make_config()
    run = run_program(spec, cfg, KEYRING.open(spec.config.secrets))
    declared = {(r.name, r.type) for r in run.resources if not r.type.startswith("pulumi:")}
    assert {(c.name, c.type) for c in planned_resources(spec, cfg)} == declared


def test_a_target_without_a_keyring_refuses_secrets_but_not_functions_without_them() -> None:
    opener = NoSecretOpener()
    assert opener.open(make_spec().config.secrets) == {}
    with pytest.raises(TargetError, match="no key to open secrets"):
        opener.open(with_secrets({"API_TOKEN": CANARY}).config.secrets)
