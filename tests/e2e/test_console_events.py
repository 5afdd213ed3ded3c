"""The console follows an operation with its server-sent events (`EventSource` on
`/lambda/operations/{id}/events`), and falls back to polling when the stream fails."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from engine.catalog import read_default_code
from tests.e2e.conftest import Console

pytestmark = pytest.mark.browser

DEPLOY_TIMEOUT_S = 60.0
HELLO = "Hello from lambdaclone (python)!"
SLOW_LOAD_S = 1.5


def _created(console: Console, name: str) -> str:
    body = {"name": name, "file": read_default_code("python"), "runtime": "python"}
    created = console.api.post("/lambda", json={**body, "version": "3.12"})
    assert created.status_code == 202, created.text
    operation_id = created.json()["operation"]["id"]
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while console.api.get(f"/lambda/operations/{operation_id}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline, "the function was not deployed"
        time.sleep(0.2)
    key: str = created.json()["function"]["key"]
    return key


def _save_code(console: Console, page: Page, key: str) -> Locator:
    """Edits the code on the info page, confirms the preview; the operation's box once done."""
    page.goto(f"{console.url}/console/info?key={key}")
    expect(page.get_by_test_id("function-title")).to_be_visible()
    # Loading takes a while, so the operation is still running when the console follows it
    # (otherwise a fast deploy may finish before the stream is opened, and nothing is streamed).
    slow_start = f"import time\n\ntime.sleep({SLOW_LOAD_S})\n"
    edited = slow_start + read_default_code("python").replace(HELLO, "Followed live")
    page.get_by_label("Code").fill(edited)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("preview")).to_be_visible()
    page.get_by_test_id("confirm").click()
    box = page.get_by_test_id("edit-operation")
    expect(box).to_have_attribute("data-state", "succeeded", timeout=DEPLOY_TIMEOUT_S * 1000)
    return box


def _recorded_lines(console: Console, key: str) -> list[str]:
    operation_id = console.api.get("/lambda", params={"key": key}).json()["status"]["operation_id"]
    op = console.api.get(f"/lambda/operations/{operation_id}").json()
    assert op["kind"] == "update" and op["state"] == "succeeded"
    return [line["message"] for line in op["progress"]]


def test_a_save_is_followed_with_server_sent_events(console: Console, page: Page) -> None:
    key = _created(console, "streamed")
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    box = _save_code(console, page, key)
    expect(box).to_have_attribute("data-via", "events")
    lines = _recorded_lines(console, key)
    expect(box.get_by_test_id("operation-progress").locator("li")).to_have_text(lines)
    assert len(streams) == 1 and "/lambda/operations/" in streams[0]
    console.screenshot(page, "events-followed")
    assert console.errors == []


def test_without_the_stream_the_console_polls(console: Console, page: Page) -> None:
    key = _created(console, "polled")
    refused: list[str] = []

    def refuse(route: Route) -> None:
        refused.append(route.request.url)
        route.abort()

    page.route("**/lambda/operations/*/events", refuse)
    box = _save_code(console, page, key)
    expect(box).to_have_attribute("data-via", "polling")
    lines = _recorded_lines(console, key)
    expect(box.get_by_test_id("operation-progress").locator("li")).to_have_text(lines)
    assert refused  # the console tried the stream first
    assert console.errors == []
