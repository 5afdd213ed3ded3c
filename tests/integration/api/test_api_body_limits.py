"""Request bodies of POST/PATCH /lambda are read with a bound: a huge (or endless) chunked
body is refused after a little more than the limit, never read into memory whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database
from starlette.types import Message

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import AUTH, NODE_CODE, counts, create, error_code
from tests.fixtures.fake_target import FakeTarget
from tests.integration.api.conftest import MAX_CODE_BYTES

Db = Database[dict[str, Any]]
CHUNK = 64 * 1024
ENDLESS = 32 * 1024 * 1024
BODY_LIMIT = 2 * MAX_CODE_BYTES + 64 * 1024
"""docs/api.md: a body may be at most twice `max_code_bytes` plus 64 KiB."""
BOUNDARY = "lambdaclone-test-boundary"


def _chunks(prefix: bytes, total: int) -> Iterator[bytes]:
    yield prefix
    for _ in range(total // CHUNK):
        yield b"x" * CHUNK


def drive(
    client: TestClient, method: str, content_type: str, chunks: Iterator[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Send a chunked body (no Content-Length) straight to the ASGI app, as a server would:
    one chunk per `receive`. Answers the status, the JSON body and the bytes the app pulled."""
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/lambda",
        "raw_path": b"/lambda",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", AUTH["Authorization"].encode()),
            (b"content-type", content_type.encode()),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


def test_an_endless_json_body_is_refused_early(client: TestClient, db: Db) -> None:
    before = counts(db)
    prefix = b'{"name": "big", "file": "'
    status, body, pulled = drive(client, "POST", "application/json", _chunks(prefix, ENDLESS))
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert body["error"]["detail"] == {"limit": BODY_LIMIT}
    assert pulled <= BODY_LIMIT + CHUNK
    assert counts(db) == before


def test_an_endless_multipart_upload_is_refused_early(client: TestClient, db: Db) -> None:
    key = create(client)["function"]["key"]
    before = counts(db)
    prefix = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="h.mjs"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    status, body, pulled = drive(client, "PATCH", content_type, _chunks(prefix, ENDLESS))
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert pulled <= BODY_LIMIT + CHUNK
    assert counts(db) == before


def test_a_body_within_the_limit_sent_in_chunks_works(client: TestClient) -> None:
    raw = json.dumps({"name": "chunked", "file": NODE_CODE}).encode()
    chunks = iter([raw[:10], raw[10:]])
    status, body, _ = drive(client, "POST", "application/json", chunks)
    assert status == 202, body
    assert body["function"]["name"] == "chunked"


def _form(**fields: str) -> dict[str, tuple[None, str]]:
    """Plain (non-file) fields of a multipart form."""
    return {name: (None, value) for name, value in fields.items()}


@pytest.fixture
def big_code_client(settings: Settings, target: FakeTarget, tmp_path: Path) -> Iterator[TestClient]:
    """Code may be 2 MiB: more than Starlette's default 1 MiB for one form field."""
    roomy = settings.model_copy(update={"max_code_bytes": 2 * 1024 * 1024})
    with TestClient(
        create_app(roomy, target=target), base_url=roomy.public_url, headers=AUTH
    ) as client:
        yield client


def test_multipart_fields_are_bounded_by_the_code_limit(big_code_client: TestClient) -> None:
    code = "// padding\n" * (1536 * 1024 // 11) + NODE_CODE  # 1.5 MiB, as a plain form field
    accepted = big_code_client.post("/lambda", files=_form(name="roomy", file=code))
    assert accepted.status_code == 202, accepted.text[:500]
    assert accepted.json()["function"]["code"]["size"] == len(code)
    too_big = big_code_client.post("/lambda", files=_form(name="roomy", file=code * 2))
    assert too_big.status_code == 413, too_big.text[:500]
    assert error_code(too_big) == "code_too_large"


def test_form_fields_get_the_same_answers_as_json(client: TestClient, db: Db) -> None:
    """Starlette's own 1 MiB per-field bound (400 `bad_request`) is replaced by the body
    bound: fields get the rules' answers, as in JSON."""
    before = counts(db)
    response = client.post("/lambda", files=_form(name="x", file="y" * (MAX_CODE_BYTES + 1)))
    assert response.status_code == 413 and error_code(response) == "code_too_large"
    too_long = client.post("/lambda", files=_form(name="n" * (MAX_CODE_BYTES + 1), file=NODE_CODE))
    assert too_long.status_code == 422 and error_code(too_long) == "invalid_name"
    broken = client.post(
        "/lambda", content=b"no parts", headers={"content-type": "multipart/form-data"}
    )
    assert broken.status_code == 422 and error_code(broken) == "invalid_request"
    assert counts(db) == before
