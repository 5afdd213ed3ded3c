"""DNS rebinding: the control plane answers only for its own host names, reads included; the
allow-list comes right from a public URL with a port; /endpoint/* and /internal/artifacts/*
(which function pods call by the control plane's Service name) are exempt, nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings, host_name
from tests.fixtures.api import AUTH, create, error_code
from tests.fixtures.fake_target import FakeTarget

EVIL = {"Host": "evil.example:8000"}


def test_reads_for_a_foreign_host_are_refused_even_with_a_token(client: TestClient) -> None:
    key = create(client)["function"]["key"]
    for path, params in (("/lambda", {"key": key}), ("/lambda/list", {}), ("/console/", {})):
        answer = client.get(path, params=params, headers=EVIL)
        assert answer.status_code == 403, (path, answer.text)
        assert error_code(answer) == "host_not_allowed"
        assert key not in answer.text or path == "/lambda"  # nothing of the function leaks
        assert "function" not in answer.json()
    assert client.get("/openapi.json", headers=EVIL).status_code == 403
    endpoint = client.get(f"/endpoint/{key}", headers=EVIL)
    assert error_code(endpoint) == "function_not_ready"  # reached the (fake) target


def test_function_pods_reach_artifacts_under_the_service_name_and_nothing_else(
    client: TestClient,
) -> None:
    pod = {"Host": "lambdaclone-control-plane.lambdaclone-system.svc.cluster.local:8000"}
    artifact = f"/internal/artifacts/fn-a/{'0' * 64}"
    for host in (pod, EVIL):
        # Past the guard to the route, which asks for its pull token itself.
        answer = client.get(artifact, headers={**host, "Authorization": ""})
        assert (answer.status_code, error_code(answer)) == (401, "unauthenticated"), answer.text
        for path in ("/lambda/list", "/internal/artifactsX/fn-a", "/internal/other", "/internal/"):
            refused = client.get(path, headers=host)
            assert (refused.status_code, error_code(refused)) == (403, "host_not_allowed"), path
        refused = client.post("/lambda", json={"name": "x", "file": "x = 1"}, headers=host)
        assert (refused.status_code, error_code(refused)) == (403, "host_not_allowed")


def test_a_public_url_with_a_port_allows_its_host(settings: Settings, target: FakeTarget) -> None:
    ported = settings.model_copy(update={"public_url": "https://fns.example.com:8443"})
    assert "fns.example.com" in ported.allowed_host_names
    app = create_app(ported, target=target)
    with TestClient(app, base_url="https://fns.example.com:8443", headers=AUTH) as client:
        assert client.get("/lambda/list").status_code == 200
        assert client.post("/lambda", json={"name": "x", "file": "x = 1"}).status_code != 403


def test_host_names_are_read_without_their_port() -> None:
    assert host_name("Example.COM:8000") == "example.com"
    assert host_name("::1") == "[::1]"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("127.0.0.1:9") == "127.0.0.1"
