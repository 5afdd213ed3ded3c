"""Secret environment variables are write-only: the function sees them, nothing else ever shows
them — no API answer, log line, preview, revision or audit entry, and no file the store or the
local target writes (a canary value is grepped for in all of them)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.embedded import run_ferretdb
from engine.settings import Settings
from tests.fixtures.api import AUTH, LOCAL_URL, error_code

CODE = """
import hashlib, os

def handler(event, context):
    seen = os.environ.get("CANARY", "")
    return {"sha": hashlib.sha256(seen.encode()).hexdigest(), "plain": os.environ["PLAIN"]}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """Its own store (so its files can be read) and the local target, under `tmp_path`."""
    with run_ferretdb(tmp_path / "ferretdb") as uri:
        settings = Settings(mongodb_uri=uri, data_dir=tmp_path / "data", target="local")
        with TestClient(create_app(settings), base_url=LOCAL_URL, headers=AUTH) as client:
            yield client, tmp_path


def grep(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_canary_secret_appears_nowhere_but_in_the_function(
    world: tuple[TestClient, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, root = world
    canary, second = f"canary-{secrets.token_hex(8)}", f"canary-{secrets.token_hex(8)}"
    body = {
        "name": "holds-a-secret",
        "file": CODE,
        "runtime": "python",
        "version": "3.12",
        "env": {"PLAIN": "visible"},
        "secrets": {"CANARY": canary},
    }
    answers = [client.post("/lambda", json=body, params={"wait": "true"})]
    assert answers[0].status_code == 200, answers[0].text
    fn = answers[0].json()["function"]
    key = fn["key"]
    assert list(fn["secrets"]) == ["CANARY"] and len(fn["secrets"]["CANARY"]) == 16
    assert fn["env"] == {"PLAIN": "visible"}  # plain values stay readable

    invoked = client.get(f"/endpoint/{key}")
    assert invoked.json() == {"sha": sha(canary), "plain": "visible"}

    change = {"key": key, "secrets": {"CANARY": second}}
    preview = client.patch("/lambda", json=change, params={"preview": "true"})
    field = next(f for f in preview.json()["fields"] if f["path"] == "secrets.CANARY")
    assert field["old"] == fn["secrets"]["CANARY"] and field["new"] != field["old"]
    answers += [preview, client.patch("/lambda", json=change, params={"wait": "true"})]
    assert client.get(f"/endpoint/{key}").json()["sha"] == sha(second)
    unchanged = client.patch("/lambda", json=change)  # the same value again: nothing to do
    assert unchanged.status_code == 200 and unchanged.json()["changed"] is False

    answers += [
        client.get("/lambda", params={"key": key}),
        client.get("/lambda/list"),
        client.get("/lambda/revisions", params={"key": key}),
        client.get("/lambda/operations", params={"key": key}),
        client.get("/lambda/logs", params={"key": key}),
        client.get("/lambda/audit"),
        client.get("/openapi.json"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 202), answer.text
        assert canary not in answer.text and second not in answer.text
    assert canary not in caplog.text and second not in caplog.text
    assert grep(root / "ferretdb", b"holds-a-secret"), "the grep reads the store's files"
    for value in (canary, second):
        assert grep(root, value.encode()) == [], f"{value} is in files on disk"


def test_secrets_are_kept_removed_and_checked_like_env(world: tuple[TestClient, Path]) -> None:
    client, _ = world
    body = {
        "name": "two-secrets",
        "file": CODE,
        "runtime": "python",
        "version": "3.12",
        "env": {"PLAIN": "p"},
        "secrets": {"CANARY": "one", "OTHER": "two"},
    }
    key = client.post("/lambda", json=body, params={"wait": "true"}).json()["function"]["key"]
    kept = client.patch("/lambda", json={"key": key, "secrets": {"OTHER": None}})
    assert list(kept.json()["function"]["secrets"]) == ["CANARY"]  # CANARY kept, OTHER gone
    bad = [
        {"secrets": {"1X": "v"}},
        {"secrets": {"LD_PRELOAD": "v"}},
        {"secrets": {"X": "a\x00b"}},
        {"secrets": {"PLAIN": "shadows env"}},
        {"secrets": {"BIG": "x" * 5000}},
    ]
    codes = [error_code(client.patch("/lambda", json={"key": key, **b})) for b in bad]
    assert codes == [
        "invalid_secret",
        "reserved_env",
        "invalid_secret",
        "invalid_secret",
        "env_too_large",
    ]
    for b in bad:  # no message names a value
        answer = client.patch("/lambda", json={"key": key, **b})
        assert "shadows env" not in answer.text and "a\x00b" not in answer.text
