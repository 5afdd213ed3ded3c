"""Who may do what, through the real app and store: every /lambda route needs a credential,
each role may do exactly what docs/auth.md's table says, tokens are shown once and stop at
once when revoked, failed sign-ins are limited, console sessions are cookies with CSRF checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.access import ROLE_ACTIONS
from engine.settings import Settings
from tests.fixtures.api import AUTH, NODE_CODE, create, error_code
from tests.fixtures.fake_target import FakeTarget

KEY = "aaaaaaaaaaaaaaaaaaaaaaaaaa"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def new_token(client: TestClient, role: str, **fields: Any) -> str:
    made = client.post("/lambda/tokens", json={"name": f"a {role}", "role": role, **fields})
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("lct_") and len(made.json()["secret"]) == 47
    secret: str = made.json()["secret"]
    return secret


def lambda_routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/lambda")
        for method in item
    ]


def test_every_lambda_route_refuses_a_request_without_a_token(client: TestClient) -> None:
    routes = lambda_routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        url = path.replace("{operation_id}", "op").replace("{token_id}", KEY)
        answer = client.request(method, url, headers={"Authorization": ""}, params={"key": KEY})
        assert answer.status_code == 401, (method, path, answer.text)
        assert error_code(answer) == "unauthenticated"
        assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("bad", ["", "Bearer", "Bearer lct_nope", "Basic YWRtaW46YWRtaW4=", "x"])
def test_malformed_unknown_and_foreign_credentials_are_all_401(
    client: TestClient, bad: str
) -> None:
    answer = client.get("/lambda/list", headers={"Authorization": bad})
    assert answer.status_code == 401 and error_code(answer) == "unauthenticated"


# (method, path, params, json) of one action each, run by every role.
ACTIONS: dict[str, tuple[str, str, dict[str, str], dict[str, Any] | None]] = {
    "functions:read": ("GET", "/lambda/list", {}, None),
    "functions:write": (
        "POST",
        "/lambda",
        {},
        {"name": "by-role", "file": NODE_CODE, "runtime": "node", "version": "20"},
    ),
    "functions:logs": ("GET", "/lambda/logs", {"key": KEY}, None),
    "catalog:read": ("GET", "/lambda/runtimes", {}, None),
    "catalog:write": ("POST", "/lambda/setup", {}, None),
    "tokens:manage": ("GET", "/lambda/tokens", {}, None),
    "audit:read": ("GET", "/lambda/audit", {}, None),
    "self:read": ("GET", "/lambda/whoami", {}, None),
}


@pytest.mark.parametrize("role", ["admin", "developer", "viewer", "invoker"])
def test_each_role_may_do_exactly_its_actions(client: TestClient, role: str) -> None:
    token = bearer(new_token(client, role))
    for action, (method, path, params, body) in ACTIONS.items():
        answer = client.request(method, path, params=params, json=body, headers=token)
        if action in ROLE_ACTIONS[role]:  # type: ignore[index]
            assert answer.status_code not in (401, 403), (role, action, answer.text)
        else:
            assert answer.status_code == 403, (role, action, answer.text)
            assert error_code(answer) == "forbidden"
            assert answer.json()["error"]["detail"] == {"action": action, "role": role}


def test_a_refused_reader_learns_nothing_about_a_function(client: TestClient) -> None:
    key = create(client)["function"]["key"]
    invoker = bearer(new_token(client, "invoker"))
    for params in ({"key": key}, {"key": KEY}):  # an existing key and an unknown one
        answer = client.get("/lambda", params=params, headers=invoker)
        assert answer.status_code == 403 and error_code(answer) == "forbidden"


def test_tokens_are_shown_once_listed_without_secrets_and_revoked_at_once(
    client: TestClient,
) -> None:
    secret = new_token(client, "viewer")
    assert client.get("/lambda/list", headers=bearer(secret)).status_code == 200
    listed = client.get("/lambda/tokens").json()["items"]
    mine = next(t for t in listed if t["name"] == "a viewer")
    assert "secret" not in mine and "secret_hash" not in mine
    assert secret not in str(listed)
    revoked = client.delete(f"/lambda/tokens/{mine['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    answer = client.get("/lambda/list", headers=bearer(secret))
    assert answer.status_code == 401 and error_code(answer) == "unauthenticated"
    assert client.delete(f"/lambda/tokens/{KEY}").status_code == 404


def test_token_rules(client: TestClient) -> None:
    bad = [
        {"name": "", "role": "viewer"},
        {"name": "x", "role": "root"},
        {"name": "x", "role": "developer", "functions": [KEY]},
        {"name": "x", "role": "invoker", "functions": ["not-a-key"]},
        {"name": "x", "role": "viewer", "expires": "2001-01-01T00:00:00Z"},
    ]
    for body in bad:
        assert client.post("/lambda/tokens", json=body).status_code == 422, body
    soon = "2099-01-01T00:00:00Z"
    made = client.post("/lambda/tokens", json={"name": "x", "role": "viewer", "expires": soon})
    assert made.json()["token"]["expires"].startswith("2099-01-01")


def test_whoami_names_the_caller(client: TestClient) -> None:
    me = client.get("/lambda/whoami").json()
    assert (me["name"], me["role"]) == ("admin (LAMBDACLONE_ADMIN_TOKEN)", "admin")
    bound = bearer(new_token(client, "invoker", functions=[KEY]))
    assert client.get("/lambda/whoami", headers=bound).json()["functions"] == [KEY]


def test_mutations_and_token_changes_are_audited(client: TestClient) -> None:
    key = create(client)["function"]["key"]
    viewer = bearer(new_token(client, "viewer"))
    client.delete("/lambda", params={"key": key}, headers=viewer)  # refused: audited too
    entries = client.get("/lambda/audit").json()["items"]
    by_action = {(e["action"], e["result"]) for e in entries}
    assert ("functions:write", "ok") in by_action
    assert ("functions:write", "forbidden") in by_action
    assert ("tokens:manage", "ok") in by_action
    create_entry = next(
        e for e in entries if e["action"] == "functions:write" and e["status"] == 202
    )
    assert create_entry["key"] == key and create_entry["token_name"].startswith("admin")
    refused = next(e for e in entries if e["result"] == "forbidden")
    assert (refused["role"], refused["status"], refused["key"]) == ("viewer", 403, key)


@pytest.fixture
def strict(settings: Settings, target: FakeTarget) -> Iterator[TestClient]:
    """A control plane that allows 3 failed sign-ins a minute per address."""
    tight = settings.model_copy(update={"signin_failures_per_minute": 3})
    with TestClient(create_app(tight, target=target), base_url=tight.public_url) as client:
        yield client


def test_failed_sign_ins_are_rate_limited_per_address(strict: TestClient) -> None:
    for _ in range(3):
        assert strict.get("/lambda/list", headers=bearer("lct_" + "x" * 43)).status_code == 401
    limited = strict.get("/lambda/list", headers=bearer("lct_" + "x" * 43))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # a valid token from that address still works: only failures are limited
    assert strict.get("/lambda/list", headers=AUTH).status_code == 200


def test_console_sessions_are_httponly_strict_cookies_and_writes_need_csrf(
    client: TestClient,
) -> None:
    secret = new_token(client, "developer")
    browser = Browser(client)
    assert browser.post("/console/session", json={"token": "lct_" + "y" * 43}).status_code == 401
    signed = browser.post("/console/session", json={"token": secret})
    assert signed.status_code == 200
    cookies = signed.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("lc_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session
    assert secret not in " ".join(cookies)
    assert browser.get("/lambda/whoami").json()["role"] == "developer"
    body = {"name": "from-console", "file": NODE_CODE, "runtime": "node", "version": "20"}
    refused = browser.post("/lambda", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["detail"] == {"reason": "csrf"}
    csrf = client.cookies["lc_csrf"]
    assert browser.post("/lambda", json=body, headers={"X-CSRF-Token": csrf}).status_code == 202
    page = browser.get("/console/", follow_redirects=False)
    assert page.status_code == 200
    browser.delete("/console/session", headers={"X-CSRF-Token": csrf})
    client.cookies.clear()
    assert browser.get("/console/", follow_redirects=False).status_code == 303


class Browser:
    """The test client as a browser: cookies, and no Authorization header."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"Authorization": "", **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)
