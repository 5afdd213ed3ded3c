"""Every runtime and convention through the real control plane: created with
`POST /lambda?wait=true` (JSON), invoked at `/endpoint/{key}/some/path?…` on the real local
target, answered as the function's caller must see it (the cases: api_runtimes_helpers.py).

One app (lifespan, FerretDB, local target) serves the whole module and each function is
created once; the Go build uses the machine's GOCACHE, so the Go function costs one link.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH, error_code
from tests.fixtures.api_runtimes import (
    CASES,
    PEER,
    QUERY,
    SPOOFED,
    SUFFIX,
    Case,
    Sent,
)
from tests.fixtures.local_targets import link_shared_gocache

pytestmark = pytest.mark.timeout(300)
Deploy = Callable[[Case], str]


@pytest.fixture(scope="module")
def api(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The real app with its lifespan, seen from the non-loopback peer `PEER`."""
    data_dir: Path = tmp_path_factory.mktemp("api-runtimes")
    link_shared_gocache(data_dir)
    database = f"t_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=database,
        data_dir=data_dir,
        target="local",
        worker_start_timeout_s=20.0,
    )
    try:
        app = create_app(settings)
        with TestClient(app, base_url="http://127.0.0.1:8000", client=PEER, headers=AUTH) as client:
            yield client
    finally:
        mongo: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=3000) as mongo:
            mongo.drop_database(database)


@pytest.fixture(scope="module")
def catalog(api: TestClient) -> dict[str, dict[str, Any]]:
    response = api.get("/lambda/runtimes")
    assert response.status_code == 200, response.text
    return {item["runtime"]: item for item in response.json()["items"]}


@pytest.fixture(scope="module")
def deploy(api: TestClient, catalog: dict[str, dict[str, Any]]) -> Deploy:
    """Create a case's function once (`POST /lambda?wait=true`, JSON); returns its key."""
    keys: dict[str, str] = {}

    def create(case: Case) -> str:
        if case.id in keys:
            return keys[case.id]
        entry = catalog[case.runtime]
        body = {
            "name": case.id,
            "runtime": case.runtime,
            "version": entry["version"],
            "file": case.code if case.code is not None else entry["default_code"],
        }
        created = api.post("/lambda", params={"wait": "true"}, json=body)
        assert created.status_code == 200, created.text
        assert created.request.headers["content-type"] == "application/json"
        fn = created.json()["function"]
        assert fn["status"]["phase"] == "Ready", fn["status"]
        assert (fn["runtime"], fn["version"]) == (case.runtime, entry["version"])
        assert fn["endpoint"].endswith(f"/endpoint/{fn['key']}")
        keys[case.id] = fn["key"]
        return keys[case.id]

    return create


def _report_logged(api: TestClient, key: str, request_id: str) -> bool:
    logs = api.get("/lambda/logs", params={"key": key, "limit": 200})
    assert logs.status_code == 200, logs.text
    prefix = f"REPORT RequestId: {request_id}\t"
    return any(str(line["message"]).startswith(prefix) for line in logs.json()["lines"])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_runtime_and_convention_answers_through_the_endpoint(
    api: TestClient, deploy: Deploy, case: Case
) -> None:
    key = deploy(case)
    sent = Sent(case.method, f"rid-{case.id}", case.id)
    response = api.request(
        case.method,
        f"/endpoint/{key}{SUFFIX}?{QUERY}",
        content=sent.body_text,
        headers={
            "content-type": "application/json",
            "x-custom": "yes",
            "x-request-id": sent.request_id,
            "x-forwarded-for": SPOOFED,  # a caller's claim: never the event's sourceIp
        },
    )
    expected = case.expect(sent)
    assert response.status_code == expected.status, response.text
    assert response.headers["content-type"].startswith(expected.content_type)
    assert response.headers["x-request-id"] == sent.request_id
    for name, value in expected.headers:
        assert response.headers[name] == value
    if isinstance(expected.body, bytes):
        assert response.content == expected.body
    else:
        assert response.json() == expected.body

    deadline = time.monotonic() + 5
    while not _report_logged(api, key, sent.request_id):
        assert time.monotonic() < deadline, "no REPORT line for the request"
        time.sleep(0.02)


def test_the_wrappers_health_path_is_the_platforms(api: TestClient, deploy: Deploy) -> None:
    """Answered by the proxy (404 `not_found`), never by the wrapper or the function."""
    key = deploy(next(case for case in CASES if case.id == "python-lambda-sync"))
    for method in ("GET", "POST"):
        reserved = api.request(method, f"/endpoint/{key}/__lambdaclone/health")
        assert (reserved.status_code, error_code(reserved)) == (404, "not_found")
    other = api.get(f"/endpoint/{key}/__lambdaclone/other", headers={"x-custom": "yes"})
    assert (other.status_code, other.json()["path"]) == (200, "/__lambdaclone/other")
