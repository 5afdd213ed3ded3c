"""The CLI's token commands and its Kubeless-style `function …` commands, against the real app
(the Kubeless ones with the real local target, so `function call` reaches a real worker)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from engine.settings import Settings
from tests.fixtures.api import LOCAL_URL

KUBELESS_HANDLER = """
def hello(event, context):
    data = event["data"]
    if isinstance(data, bytes):
        data = data.decode()
    return {"data": data, "namespace": event["event-namespace"], "type": event["event-type"],
            "function": context["function-name"]}
"""


def run(client: TestClient, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit status and output, as a shell would see them (SystemExit included)."""
    try:
        code = main(list(argv), client=client)
    except SystemExit as exc:
        if isinstance(exc.code, str):  # Python prints the message and exits 1
            return 1, exc.code
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_tokens_are_created_listed_used_and_revoked(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(client, capsys, "token", "create", "ci reader", "--role", "viewer")
    assert code == 0, out
    made = json.loads(out)
    secret, token_id = made["secret"], made["token"]["id"]
    assert secret.startswith("lct_")
    code, out = run(client, capsys, "token", "list")
    assert code == 0 and "ci reader" in out and secret not in out
    assert run(client, capsys, "--token", secret, "list")[0] == 0
    code, err = run(client, capsys, "--token", secret, "token", "list")
    assert code == 1 and err.startswith("error 403 forbidden"), err
    assert run(client, capsys, "token", "revoke", token_id)[0] == 0
    code, err = run(client, capsys, "--token", secret, "list")
    assert code == 1 and err.startswith("error 401 unauthenticated"), err


@pytest.fixture
def local_client(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        mongodb_uri=mongo_uri, database=mongo_db_name, data_dir=tmp_path, target="local"
    )
    with TestClient(create_app(settings), base_url=LOCAL_URL) as client:
        yield client


def test_kubeless_commands_deploy_call_list_and_delete(
    local_client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "greet.py"
    source.write_text(KUBELESS_HANDLER)
    deploy = ("function", "deploy", "greet", "--runtime", "python3.12", "--from-file")
    code, out = run(local_client, capsys, *deploy, str(source), "--handler", "greet.hello")
    assert code == 0, out
    assert json.loads(out)["function"]["convention"] == "kubeless"
    code, out = run(local_client, capsys, "function", "ls")
    assert code == 0 and out.split("\n")[0].split() == [
        "NAME", "KEY", "HANDLER", "RUNTIME", "STATUS", "ENDPOINT"
    ]  # fmt: skip
    assert "greet.hello" in out and "python3.12" in out and "Ready" in out

    code, out = run(local_client, capsys, "function", "call", "greet", "--data", '{"a": 1}')
    assert code == 0, out
    assert json.loads(out) == {
        "data": {"a": 1}, "namespace": "cli.kubeless.io", "type": "application/json",
        "function": "greet",
    }  # fmt: skip
    code, out = run(local_client, capsys, "function", "call", "greet", "--data", "plain")
    assert code == 0 and json.loads(out)["data"] == "plain"
    assert json.loads(out)["type"] == "application/x-www-form-urlencoded"

    code, out = run(local_client, capsys, "function", "delete", "greet")
    assert code == 0, out
    code, err = run(local_client, capsys, "function", "call", "greet")
    assert code != 0 and "no function named 'greet'" in err


def test_kubeless_deploy_refuses_what_it_cannot_honour(
    client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "f.py"
    source.write_text(KUBELESS_HANDLER)
    deploy = ("function", "deploy", "f", "--from-file", str(source))
    code, err = run(client, capsys, *deploy, "--runtime", "ruby3.2")
    assert code == 1 and "no such runtime" in err
    code, err = run(client, capsys, *deploy, "--runtime", "python")
    assert code == 1 and "expected a name and a version" in err
    assert json.loads(run(client, capsys, "list")[1])["items"] == []


KUBELESS_WITH_PACKAGE = """
import six


def hello(event, context):
    return {"six": six.__version__, "text": six.ensure_text(event["data"])}
"""


def test_kubeless_deploy_with_dependencies_installs_them(
    local_client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "pkg.py"
    source.write_text(KUBELESS_WITH_PACKAGE)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.17.0\n")
    deploy = ("function", "deploy", "pkg", "--runtime", "python3.12", "--from-file", str(source))
    extra = ("--handler", "pkg.hello", "--dependencies", str(requirements))
    code, out = run(local_client, capsys, *deploy, *extra)
    assert code == 0, out
    assert json.loads(out)["function"]["status"]["phase"] == "Ready"
    code, out = run(local_client, capsys, "function", "call", "pkg", "--data", "hi")
    assert code == 0, out
    assert json.loads(out) == {"six": "1.17.0", "text": "hi"}


ROUTED_HANDLER = """
from shared import greeting


def handler(event, context):
    return {"statusCode": 200, "body": greeting(event["pathParameters"]["who"])}
"""


def test_layers_are_published_attached_and_protected_from_the_cli(
    local_client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    layer_dir = tmp_path / "layer"
    (layer_dir / "python").mkdir(parents=True)
    (layer_dir / "python" / "shared.py").write_text("def greeting(who):\n    return 'hi ' + who\n")
    code, out = run(local_client, capsys, "layer", "publish", "shared", str(layer_dir))
    assert code == 0, out
    assert json.loads(out)["ref"] == "shared:1" and json.loads(out)["files"] == 1
    code, out = run(local_client, capsys, "layer", "list")
    assert code == 0 and out.split("\n")[1].split()[:2] == ["shared:1", "1"], out

    package = tmp_path / "fn.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("src/app.py", ROUTED_HANDLER)
    create = ("create", "routed", str(package), "--runtime", "python", "--handler")
    options = ("--layer", "shared:1", "--route", "GET /hello/{who}", "--wait")
    code, out = run(local_client, capsys, *create, "src/app.handler", *options)
    assert code == 0, out
    key = json.loads(out)["function"]["key"]
    code, out = run(local_client, capsys, "invoke", key)  # no route takes `/`
    assert code == 1 and "404" in out, out
    answer = local_client.get(f"/endpoint/{key}/hello/cli")
    assert answer.status_code == 200 and answer.text == "hi cli"

    code, err = run(local_client, capsys, "layer", "delete", "shared", "1")
    assert code == 1 and "layer_version_in_use" in err and key in err, err
    standalone = tmp_path / "standalone.py"
    standalone.write_text("def handler(event, context):\n    return 'alone'\n")
    detach = ("--layer", "", "--file", str(standalone), "--handler", "standalone.handler")
    code, out = run(local_client, capsys, "update", key, *detach, "--wait")
    assert code == 0 and json.loads(out)["function"]["layers"] == [], out
    code, out = run(local_client, capsys, "layer", "delete", "shared", "1")
    assert code == 0 and out.strip() == "deleted shared:1", out
    code, err = run(local_client, capsys, "layer", "get", "shared", "1")
    assert code == 1 and "layer_version_not_found" in err, err
