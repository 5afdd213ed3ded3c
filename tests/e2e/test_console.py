"""The console, clicked through in a real browser against the real app (local target).

One walk through the whole life of a function (create with a layer → list → info → test → edit
with preview → test again → delete), and the lost-update guard of the edit form.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from engine.catalog import BUILTIN_VERSIONS, read_default_code
from tests.e2e.conftest import Console

pytestmark = pytest.mark.browser

DEPLOY_TIMEOUT_MS = 60_000
"""Creating or replacing a local worker (a Python process start) takes a few seconds at most;
the margin is for slow CI machines."""
HELLO = "Hello from lambdaclone (python)!"


def _row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="function-row"][data-name="{name}"]')


def _send_test(page: Page, params: dict[str, str]) -> dict[str, Any]:
    """Fills the test panel's query parameter rows, sends, and returns the JSON body shown."""
    rows = page.get_by_test_id("param-row")
    while rows.count() < len(params):
        page.get_by_test_id("add-param").click()
    for n, (name, value) in enumerate(params.items()):
        rows.nth(n).get_by_test_id("param-name").fill(name)
        rows.nth(n).get_by_test_id("param-value").fill(value)
    output = page.get_by_test_id("test-output")
    output.evaluate("node => { node.textContent = '' }")  # so the wait below sees the new answer
    page.get_by_test_id("test-send").click()
    expect(output).not_to_be_empty()
    expect(page.get_by_test_id("test-status")).to_have_text(re.compile(r"^200\b"))
    expect(page.get_by_test_id("test-duration")).to_contain_text(" ms")
    body: dict[str, Any] = json.loads(output.text_content() or "")
    return body


def _wait_operation(console: Console, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEPLOY_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        op: dict[str, Any] = console.api.get(f"/lambda/operations/{operation_id}").json()
        if op["state"] in {"succeeded", "failed"}:
            return op
        time.sleep(0.2)
    raise AssertionError(f"operation {operation_id} did not finish")


def test_create_test_edit_and_delete_a_python_function(console: Console, page: Page) -> None:
    default_python = read_default_code("python")

    # --- the list, empty; / redirects to it ------------------------------------------------
    page.goto(f"{console.url}/")
    expect(page).to_have_url(f"{console.url}/console/")
    expect(page.get_by_test_id("empty")).to_be_visible()
    page.get_by_test_id("create-button").click()

    # --- create: the catalog's default is preselected with its code ------------------------
    expect(page).to_have_url(f"{console.url}/console/create")
    expect(page.get_by_test_id("create-form")).to_have_attribute("data-ready", "true")
    default = console.api.get("/lambda/default").json()
    runtime = page.get_by_label("Runtime")
    code = page.get_by_label("Code")
    editor = page.get_by_test_id("code-editor")
    expect(runtime).to_have_value(f"{default['runtime']}:{default['version']}")
    expect(code).to_have_value(default["code"])
    shipped = [f"{name} {version}" for name, version in sorted(BUILTIN_VERSIONS)]
    expect(runtime.locator("option")).to_have_text(shipped)

    runtime.select_option(label="python 3.12")
    expect(code).to_have_value(default_python)
    expect(editor).to_have_attribute("data-language", "python")
    # highlighted: keywords, the function name and the string, in their own token spans,
    # and the highlighted layer shows exactly the text being edited
    expect(editor.locator(".tok-kw").filter(has_text=re.compile(r"^def$"))).to_have_count(1)
    expect(editor.locator(".tok-kw").filter(has_text=re.compile(r"^return$"))).to_have_count(1)
    expect(editor.locator(".tok-fn").filter(has_text=re.compile(r"^handler$"))).to_have_count(1)
    expect(editor.locator(".tok-str").filter(has_text=HELLO)).to_have_count(1)
    expect(editor.locator(".tok-num").filter(has_text="200")).to_have_count(1)
    assert editor.locator("pre code").text_content() == default_python + " "
    # Tab indents by four spaces instead of leaving the editor
    code.focus()
    page.keyboard.press("Control+End")
    page.keyboard.press("Tab")
    expect(code).to_have_value(default_python + "    ")
    expect(code).to_be_focused()
    code.fill(default_python)

    # an invalid name is refused by the API and shown next to the field
    name = page.get_by_label("Function name")
    name.fill("Not A Label")
    page.get_by_test_id("create-submit").click()
    expect(page.get_by_test_id("name-error")).to_contain_text("DNS label")
    expect(name).to_have_attribute("aria-invalid", "true")

    # a layer published through the API is offered, and attached by its reference
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("python/greeting.py", "WORD = 'hello'\n")
    published = console.api.post(
        "/lambda/layers",
        params={"name": "greeting"},
        content=layer.getvalue(),
        headers={"Content-Type": "application/zip"},
    )
    assert published.status_code == 201, published.text
    page.reload()
    expect(page.get_by_test_id("create-form")).to_have_attribute("data-ready", "true")
    expect(page.locator("#layer-refs option")).to_have_attribute("value", "greeting:1")
    page.get_by_label("Runtime").select_option(label="python 3.12")
    page.get_by_label("Code").fill(default_python)
    page.get_by_label("Layers").fill("greeting:1")

    name.fill("")
    name.press_sequentially("hello-console")
    console.screenshot(page, "01-create")
    page.get_by_test_id("create-submit").click()
    page.wait_for_url(re.compile(r"/console/info\?key=[a-z2-7]{26}$"), timeout=DEPLOY_TIMEOUT_MS)
    key = page.url.rsplit("=", 1)[1]
    expect(page.get_by_test_id("head-phase")).to_have_text("Ready")

    # --- the list shows it, Ready ------------------------------------------------------------
    page.get_by_role("link", name="Back to the list").click()
    row = _row(page, "hello-console")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("phase")).to_have_text("Ready")
    expect(row.get_by_test_id("function-runtime")).to_have_text("python 3.12")
    expect(row.get_by_test_id("endpoint-link")).to_have_attribute("href", f"/endpoint/{key}")
    console.screenshot(page, "02-list")
    row.get_by_test_id("info-link").click()

    # --- info: endpoint, status, test panel ----------------------------------------------------
    expect(page).to_have_url(f"{console.url}/console/info?key={key}")
    expect(page.get_by_test_id("function-title")).to_have_text("hello-console")
    expect(page.get_by_test_id("endpoint-url")).to_have_text(f"{console.url}/endpoint/{key}")
    expect(page.get_by_test_id("status-generation")).to_have_text("1 (observed 1)")
    expect(page.get_by_test_id("revision-row")).to_have_count(1)
    expect(page.get_by_label("Code")).to_have_value(default_python)
    expect(page.get_by_label("Layers")).to_have_value("greeting:1")

    body = _send_test(page, {"who": "console", "lang": "python"})
    assert body == {"message": HELLO, "params": {"who": "console", "lang": "python"}}
    console.screenshot(page, "03-info-tested")

    # --- edit: Save shows the preview; Confirm applies it ----------------------------------------
    edited = default_python.replace(HELLO, "Edited in the console")
    page.get_by_label("Code").fill(edited)
    page.get_by_test_id("save").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_be_visible()
    expect(preview.get_by_test_id("preview-field")).to_have_count(1)
    code_change = preview.locator('[data-testid="preview-field"][data-path="code_sha256"]')
    expect(code_change).to_contain_text("code")
    expect(preview.get_by_test_id("preview-code-diff")).to_contain_text("Edited in the console")
    expect(preview.get_by_test_id("preview-resource").first).to_be_visible()
    expect(
        preview.locator('[data-testid="preview-resource"][data-op="replace"]')
    ).not_to_have_count(0)
    assert console.api.get("/lambda", params={"key": key}).json()["revision"] == 1  # not yet
    console.screenshot(page, "04-preview")

    page.get_by_test_id("confirm").click()
    expect(preview).to_be_hidden()
    expect(page.get_by_test_id("edit-operation")).to_have_attribute(
        "data-state", "succeeded", timeout=DEPLOY_TIMEOUT_MS
    )
    expect(page.get_by_test_id("operation-progress").locator("li")).not_to_have_count(0)
    expect(page.get_by_test_id("edit-note")).to_have_text("Saved: now at revision 2.")
    expect(page.get_by_test_id("status-revision")).to_have_text("2")
    expect(page.get_by_test_id("head-phase")).to_have_text("Ready")
    expect(page.get_by_test_id("revision-row")).to_have_count(2)
    body = _send_test(page, {"who": "again"})  # the second row (lang=python) stays
    assert body == {
        "message": "Edited in the console",
        "params": {"who": "again", "lang": "python"},
    }
    expect(page.get_by_test_id("logs")).not_to_have_text("Loading…")
    console.screenshot(page, "05-info-edited")

    # --- delete from the list --------------------------------------------------------------------
    page.get_by_role("link", name="Back to the list").click()
    row = _row(page, "hello-console")
    row.get_by_test_id("delete-button").click()
    row.get_by_test_id("confirm-delete").click()
    expect(_row(page, "hello-console")).to_have_count(0, timeout=DEPLOY_TIMEOUT_MS)
    expect(page.get_by_test_id("empty")).to_be_visible()
    assert console.api.get("/lambda", params={"key": key}).status_code == 404
    assert console.errors == []


def test_a_concurrent_edit_is_reported_not_lost(console: Console, page: Page) -> None:
    created = console.api.post(
        "/lambda",
        json={
            "name": "shared",
            "file": read_default_code("python"),
            "runtime": "python",
            "version": "3.12",
        },
    )
    assert created.status_code == 202, created.text
    key = created.json()["function"]["key"]
    assert _wait_operation(console, created.json()["operation"]["id"])["state"] == "succeeded"

    page.goto(f"{console.url}/console/info?key={key}")
    expect(page.get_by_test_id("function-title")).to_have_text("shared")
    page.get_by_label("Function name").fill("shared-mine")
    page.get_by_test_id("save").click()
    preview = page.get_by_test_id("preview")
    expect(preview.locator('[data-testid="preview-field"][data-path="name"]')).to_contain_text(
        "shared-mine"
    )

    # someone else changes the function between the preview and the confirmation
    other = console.api.patch("/lambda", json={"key": key, "name": "shared-theirs"})
    assert other.status_code == 202, other.text
    _wait_operation(console, other.json()["operation"]["id"])

    page.get_by_test_id("confirm").click()
    banner = page.get_by_test_id("error")
    expect(banner).to_have_attribute("data-code", "stale_revision")
    expect(banner).to_contain_text("Reload the page")
    expect(banner.get_by_role("button", name="Reload")).to_be_visible()
    expect(page.get_by_test_id("status-revision")).to_have_text("2")
    console.screenshot(page, "06-stale")
    assert console.api.get("/lambda", params={"key": key}).json()["name"] == "shared-theirs"

    # the info page's Delete removes it and returns to the list
    page.get_by_test_id("delete-button").click()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(f"{console.url}/console/", timeout=DEPLOY_TIMEOUT_MS)
    expect(page.get_by_test_id("empty")).to_be_visible()
    assert console.errors == []
