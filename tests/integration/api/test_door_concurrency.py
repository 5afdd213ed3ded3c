"""Writes that race: many clients sending the same new code at once (the content-addressed
code store's upsert race), and list filters with any Unicode — over real HTTP and FerretDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from engine.settings import Settings
from tests.fixtures.api import AUTH
from tests.integration.api.test_http_limits import served

PARALLEL = 20


@pytest.fixture
def api(settings: Settings) -> Iterator[httpx.Client]:
    with served(settings) as url, httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        yield client


def new_code() -> str:
    """Code no store has seen: its blob does not exist when the requests arrive."""
    return f"export default function handler(req, res) {{ res.json({{id: '{uuid.uuid4()}'}}); }}\n"


def users_of(db: Database[dict[str, Any]], code: str) -> set[str]:
    """The keys recorded as using `code`, once its one blob is found."""
    (blob,) = db["lambda.code"].find({"code": code}, {"_id": 1})
    sha = blob["_id"]
    return {ref["key"] for ref in db["lambda.code.ref"].find({"_id": {"$regex": f"^{sha}:"}})}


def in_parallel(send: Any, count: int = PARALLEL) -> list[httpx.Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(send, range(count)))


def test_parallel_creates_with_one_new_code_all_succeed(
    api: httpx.Client, db: Database[dict[str, Any]]
) -> None:
    code = new_code()

    def send(i: int) -> httpx.Response:
        return api.post("/lambda", json={"name": f"same-code-{i}", "file": code})

    answers = in_parallel(send)
    assert sorted({a.status_code for a in answers}) == [202], [a.text for a in answers]
    keys = {a.json()["function"]["key"] for a in answers}
    assert users_of(db, code) == keys  # one blob, every function recorded as its user


def test_parallel_updates_to_one_new_code_all_succeed(
    api: httpx.Client, db: Database[dict[str, Any]]
) -> None:
    keys = [
        api.post("/lambda", json={"name": f"f-{i}", "file": new_code()}).json()["function"]["key"]
        for i in range(PARALLEL)
    ]
    code = new_code()

    def send(i: int) -> httpx.Response:
        return api.patch("/lambda", json={"key": keys[i], "file": code})

    answers = in_parallel(send)
    assert sorted({a.status_code for a in answers}) == [202], [a.text for a in answers]
    assert users_of(db, code) == set(keys)


@pytest.mark.parametrize(
    "prefix", ["€", "\U0001f600", "ü", "a b", ".*", "^$", "\\", "(", "[", "{1}", "\x7f", "'\""]
)
def test_list_filters_take_any_unicode(api: httpx.Client, prefix: str) -> None:
    api.post("/lambda", json={"name": "hello", "file": new_code()})
    answer = api.get("/lambda/list", params={"name": prefix})
    assert (answer.status_code, answer.json()["items"]) == (200, [])  # no name holds them


def test_a_list_filter_is_a_prefix_not_a_pattern(api: httpx.Client) -> None:
    for name in ("hello", "help", "hex"):
        api.post("/lambda", json={"name": name, "file": new_code()})
    names = [f["name"] for f in api.get("/lambda/list", params={"name": "hel"}).json()["items"]]
    assert sorted(names) == ["hello", "help"]
    assert api.get("/lambda/list", params={"name": "h.l"}).json()["items"] == []
