"""CORS for the origins of `cors_origins`: preflights, labelled answers, exact origin matching,
`/endpoint/*` left to the functions, and the cross-site guard accepting exactly those origins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cors import normalize_origin
from engine.settings import Settings
from tests.fixtures.fake_target import FakeTarget

CONSOLE = "http://console.test:8080"
OTHER = "http://evil.test"
NODE_CODE = "export default function handler(req, res) { res.status(200).json({ok: 1}); }\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"original_api": "public", "cors_origins": (CONSOLE, "https://Other.Test:443/")}
    )


def preflight(client: TestClient, origin: str, path: str = "/original/lambda", **extra: str) -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type,authorization",
        **extra,
    }
    return client.options(path, headers=headers)


def new_lambda() -> dict[str, str]:
    return {"title": "x", "id": "", "runtime": "node", "version": "20", "code": NODE_CODE}


def test_preflight_from_a_listed_origin(client: TestClient) -> None:
    for path in ("/original/lambda", "/lambda", "/lambda/operations/x/events"):
        response = preflight(client, CONSOLE, path)
        assert response.status_code == 204, path
        headers = response.headers
        assert headers["access-control-allow-origin"] == CONSOLE
        assert set(headers["access-control-allow-methods"].split(", ")) == {
            "GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS",
        }  # fmt: skip
        assert {h.lower() for h in headers["access-control-allow-headers"].split(", ")} == {
            "authorization", "content-type", "idempotency-key", "x-csrf-token", "last-event-id",
        }  # fmt: skip
        assert headers["access-control-max-age"] == "600"
        assert "origin" in headers["vary"].lower()
        assert "access-control-allow-credentials" not in headers


def test_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    response = preflight(client, OTHER)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cross_site_request"
    assert "access-control-allow-origin" not in response.headers


def test_private_network_access_is_granted_to_listed_origins(client: TestClient) -> None:
    asked = {"Access-Control-Request-Private-Network": "true"}
    assert preflight(client, CONSOLE, **asked).headers["access-control-allow-private-network"]
    assert "access-control-allow-private-network" not in preflight(client, CONSOLE).headers


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (CONSOLE, True),
        ("https://other.test", True),  # listed as https://Other.Test:443/
        ("http://console.test", False),
        ("https://console.test:8080", False),
        ("http://console.test:8081", False),
        ("http://sub.console.test:8080", False),
        ("null", False),
    ],
)
def test_answers_name_exactly_the_listed_origins(
    client: TestClient, origin: str, allowed: bool
) -> None:
    response = client.get("/original/lambda/runtimes", headers={"Origin": origin})
    assert response.status_code == 200
    assert "origin" in response.headers["vary"].lower()
    if allowed:
        assert response.headers["access-control-allow-origin"] == origin
        exposed = response.headers["access-control-expose-headers"].lower().split(", ")
        assert set(exposed) == {"location", "retry-after", "x-request-id"}
    else:
        assert "access-control-allow-origin" not in response.headers


def test_errors_are_readable_by_listed_origins(client: TestClient) -> None:
    response = client.get("/original/lambda", headers={"Origin": CONSOLE})
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == CONSOLE


def test_function_endpoints_answer_their_own_cors(client: TestClient) -> None:
    key = "a" * 26
    response = preflight(client, CONSOLE, f"/endpoint/{key}")
    assert response.status_code != 204
    assert "access-control-allow-origin" not in response.headers
    plain = client.get(f"/endpoint/{key}", headers={"Origin": CONSOLE})
    assert "access-control-allow-origin" not in plain.headers


def test_writes_from_a_listed_origin_pass_the_cross_site_guard(client: TestClient) -> None:
    browser = {"Origin": CONSOLE, "Sec-Fetch-Site": "cross-site"}
    created = client.post("/original/lambda", json=new_lambda(), headers=browser)
    assert created.status_code == 200, created.text
    assert created.headers["access-control-allow-origin"] == CONSOLE
    refused = client.post(
        "/original/lambda",
        json=new_lambda(),
        headers={"Origin": OTHER, "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cross_site_request"
    assert "access-control-allow-origin" not in refused.headers


def test_original_writes_are_guarded_like_lambda(client: TestClient) -> None:
    refused = client.delete("/original/lambda", params={"id": "x"}, headers={"Origin": OTHER})
    assert refused.status_code == 403


@pytest.fixture
def cors_off(settings: Settings, target: FakeTarget) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"cors_origins": ()}), target=target)
    with TestClient(app, base_url=settings.public_url) as client:
        yield client


def test_cors_is_off_without_origins(cors_off: TestClient) -> None:
    response = preflight(cors_off, CONSOLE)
    assert response.status_code != 204
    assert "access-control-allow-origin" not in response.headers
    got = cors_off.get("/original/lambda/runtimes", headers={"Origin": CONSOLE})
    assert "access-control-allow-origin" not in got.headers


def test_a_wrong_origin_setting_stops_the_start(settings: Settings, target: FakeTarget) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ("console.test",)}), target=target)
    with pytest.raises(ValueError, match="LAMBDACLONE_CORS_ORIGINS"), TestClient(app):
        pass


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("http://Console.Test:80", "http://console.test"),
        ("https://x.test:8443/", "https://x.test:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_normalize_origin(given: str, normalized: str) -> None:
    assert normalize_origin(given) == normalized


@pytest.mark.parametrize("bad", ["*", "console.test", "http://x.test/path", "ftp://x.test", "null"])
def test_not_an_origin(bad: str) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        normalize_origin(bad)
