"""Names derived from the key, the cluster configuration and its fingerprint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.keys import new_key
from engine.kubernetes import names
from engine.kubernetes.config import from_settings, with_base_outputs
from engine.kubernetes.program import desired_hash
from engine.settings import Settings
from tests.fixtures.k8s_specs import KEY, make_config, make_spec


def test_generated_keys_are_valid_and_names_derive_from_them() -> None:
    key = new_key()
    assert names.check_key(key) == key
    assert names.object_name(key) == f"lc-{key}"
    assert names.stack_name(key) == f"lambdaclone-fn-{key}"
    assert names.key_of_stack(names.stack_name(key)) == key
    assert names.endpoint_path(key) == f"/endpoint/{key}"
    assert names.service_host(key, "fns") == f"lc-{key}.fns.svc.cluster.local"


@pytest.mark.parametrize(
    "key", ["", "UPPER", "under_score", "-lead", "trail-", "a" * 61, "a/b", ".."]
)
def test_keys_that_cannot_name_kubernetes_objects_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        names.object_name(key)


def test_stacks_of_other_projects_are_not_functions() -> None:
    assert names.key_of_stack("dev") is None
    assert names.key_of_stack("lambdaclone-fn-Bad_Key") is None


def test_labels_and_selector() -> None:
    assert names.selector_labels(KEY) == {
        "app.kubernetes.io/name": "lambdaclone-function",
        "lambdaclone.dev/key": KEY,
    }
    assert names.labels(KEY)["app.kubernetes.io/managed-by"] == "lambdaclone"


@pytest.mark.parametrize(
    ("runtime", "version", "handler", "code", "filename"),
    [
        ("python", "3.12", "app.main", "def main(): pass", "app.py"),
        ("node", "20", "index.handler", "export default function handler() {}", "index.mjs"),
        ("node", "20", "index.handler", "exports.handler = async () => 1", "index.cjs"),
        ("golang", "1.22", "handler.handler", "package main", "handler.go"),
    ],
)
def test_code_file_names_follow_the_wrappers(
    runtime: str, version: str, handler: str, code: str, filename: str
) -> None:
    spec = make_spec(runtime=runtime, version=version, handler=handler, code=code)
    assert names.code_filename(spec) == filename
    ext = filename.rsplit(".", 1)[1]
    assert names.code_object_key(spec) == f"functions/{KEY}/{spec.code_sha256}.{ext}"


def test_config_from_settings_reads_the_kubeconfig_file(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    settings = Settings(
        data_dir=tmp_path,
        kubeconfig=kubeconfig,
        namespace="fns",
        code_store="s3",
        k8s_code_store="s3",
        s3_bucket="bkt",
    )
    cfg = from_settings(settings)
    assert cfg.kubeconfig == "apiVersion: v1\n"
    assert (cfg.namespace, cfg.bucket, cfg.code_store) == ("fns", "bkt", "s3")
    assert cfg.artifact_shared


def test_base_outputs_override_the_settings_they_name() -> None:
    cfg = with_base_outputs(
        make_config(),
        {
            "kubeconfig": "from-base",
            "functionsNamespace": "base-ns",
            "codeBucket": "base-bucket",
            "ingressClass": "alb",
            "ingressGroup": "grp",
            "region": "eu-west-1",
            "unrelated": "x",
            "ingressGroupMissing": None,
        },
    )
    assert (cfg.kubeconfig, cfg.namespace, cfg.bucket) == ("from-base", "base-ns", "base-bucket")
    assert (cfg.ingress_group, cfg.s3_region) == ("grp", "eu-west-1")


def test_fingerprint_ignores_credentials_but_not_what_shapes_resources() -> None:
    cfg = make_config()
    assert cfg.fingerprint() == replace(cfg, kubeconfig="other", context="ctx").fingerprint()
    assert cfg.fingerprint() != replace(cfg, ingress_group="elsewhere").fingerprint()


def test_desired_hash_changes_with_the_spec_and_the_cluster_settings() -> None:
    spec, cfg = make_spec(), make_config()
    assert desired_hash(spec, cfg) == desired_hash(make_spec(), make_config())
    assert desired_hash(spec, cfg) != desired_hash(make_spec(name="other"), cfg)
    assert desired_hash(spec, cfg) != desired_hash(spec, replace(cfg, replicas=2))
