"""The console's trust features in a real browser: a token-protected function with a title, env
and a secret created from the form (the secret's value never shown again), invoked with and
without a token, the secret replaced and removed through the preview; API tokens made and
revoked on the tokens page; a viewer's session sees no write it may not make."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Console, sign_in

pytestmark = pytest.mark.browser

DEPLOY_TIMEOUT_MS = 60_000
CANARY = "canary-7Hq2-console-secret"
SECRET_CODE = """import os

def handler(event, context):
    return {"statusCode": 200, "body": os.environ.get("API_KEY", "missing") + "|" +
            os.environ.get("GREETING", "")}
"""


def _create_protected(page: Page, console: Console) -> str:
    page.goto(f"{console.url}/console/create")
    expect(page.get_by_test_id("create-form")).to_have_attribute("data-ready", "true")
    page.get_by_label("Runtime").select_option(label="python 3.12")
    page.get_by_label("Code").fill(SECRET_CODE)
    page.get_by_label("Function name").fill("guarded")
    page.get_by_label("Title").fill("Guarded API")
    page.get_by_label("Invoke access").select_option("token")
    page.get_by_role("button", name="+ Add variable").click()
    page.get_by_test_id("env-name").fill("GREETING")
    page.get_by_test_id("env-value").fill("hi")
    page.get_by_role("button", name="+ Add secret").click()
    page.get_by_test_id("secret-name").fill("API_KEY")
    page.get_by_test_id("secret-value").fill(CANARY)
    page.get_by_test_id("create-submit").click()
    page.wait_for_url(re.compile(r"/console/info\?key=[a-z2-7]{26}$"), timeout=DEPLOY_TIMEOUT_MS)
    expect(page.get_by_test_id("head-phase")).to_have_text("Ready", timeout=DEPLOY_TIMEOUT_MS)
    return page.url.rsplit("=", 1)[1]


def _invoke(console: Console, key: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{console.url}/endpoint/{key}", headers=headers, timeout=30)


def _make_token(page: Page, console: Console, name: str, role: str, key: str = "") -> str:
    page.goto(f"{console.url}/console/tokens")
    page.get_by_test_id("token-name").fill(name)
    page.get_by_test_id("token-role").select_option(role)
    page.get_by_test_id("token-functions").fill(key)
    page.get_by_test_id("create-token").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).to_have_text(re.compile(r"^lct_"))
    expect(page.locator(f'[data-testid="token-row"][data-name="{name}"]')).to_have_count(1)
    return secret.text_content() or ""


def test_a_protected_function_with_a_secret(console: Console, page: Page) -> None:
    key = _create_protected(page, console)
    expect(page.get_by_test_id("function-title")).to_have_text("Guarded API")
    expect(page.get_by_test_id("function-name")).to_have_text("guarded")
    expect(page.get_by_test_id("status-access")).to_have_text("Token required")
    expect(page.get_by_test_id("test-auth-hint")).to_be_visible()
    existing = page.get_by_test_id("secret-existing")
    expect(existing).to_have_attribute("data-name", "API_KEY")
    assert CANARY not in page.content()

    invoker = _make_token(page, console, "caller", "invoker", key)
    assert _invoke(console, key, None).status_code == 401
    answer = _invoke(console, key, invoker)
    assert (answer.status_code, answer.text) == (200, f"{CANARY}|hi")

    # replace the secret: the preview names it by fingerprint only
    page.goto(f"{console.url}/console/info?key={key}")
    page.get_by_test_id("secret-new-value").fill("second-value")
    page.get_by_test_id("save").click()
    fields = page.get_by_test_id("preview-field")
    expect(fields.filter(has_text="secrets.API_KEY")).to_have_count(1)
    assert (
        CANARY not in page.content() and "second-value" not in page.locator("#preview").inner_text()
    )
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("edit-note")).to_contain_text("Saved", timeout=DEPLOY_TIMEOUT_MS)
    assert _invoke(console, key, invoker).text == "second-value|hi"

    # remove it, and open the function to anyone
    page.get_by_test_id("secret-remove").click()
    page.get_by_label("Invoke access").select_option("none")
    page.get_by_test_id("save").click()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("edit-note")).to_contain_text("Saved", timeout=DEPLOY_TIMEOUT_MS)
    expect(page.get_by_test_id("status-access")).to_have_text(re.compile("^Public"))
    expect(page.get_by_test_id("secret-existing")).to_have_count(0)
    assert _invoke(console, key, None).text == "missing|hi"
    assert console.errors == []


def test_tokens_page_and_a_viewer_session(console: Console, page: Page) -> None:
    viewer = _make_token(page, console, "reader", "viewer")
    spare = _make_token(page, console, "spare", "developer")
    assert httpx.get(f"{console.url}/lambda/list", headers=_bearer(spare)).status_code == 200
    row = page.locator('[data-testid="token-row"][data-name="spare"]')
    row.get_by_test_id("revoke").click()
    expect(row).to_have_attribute("data-revoked", "yes")
    assert httpx.get(f"{console.url}/lambda/list", headers=_bearer(spare)).status_code == 401

    page.get_by_test_id("sign-out").click()
    page.wait_for_url(re.compile("/console/login"))
    sign_in(page, console.url, viewer)
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("reader (viewer)")
    expect(page.get_by_role("link", name="Tokens")).to_have_count(0)
    page.goto(f"{console.url}/console/create")
    expect(page.get_by_test_id("create-form")).to_have_attribute("data-ready", "true")
    page.get_by_label("Function name").fill("nope")
    page.get_by_test_id("create-submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("may not functions:write")
    assert console.api.get("/lambda/list").json()["items"] == []

    # revoking the token ends the sessions signed in with it
    reader = next(
        t for t in console.api.get("/lambda/tokens").json()["items"] if t["name"] == "reader"
    )
    assert console.api.delete(f"/lambda/tokens/{reader['id']}").status_code == 200
    page.goto(f"{console.url}/console/")
    page.wait_for_url(re.compile("/console/login"))
    assert console.errors == []


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
