"""Small helpers shared by the API integration tests."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from pymongo.database import Database

LOCAL_URL = "http://127.0.0.1:8000"
"""A base URL whose host the control plane accepts writes for by default (Host allowlist)."""
NODE_CODE = "export default function handler(req, res) { res.status(200).json({ok: true}); }\n"
COLLECTIONS = (
    "lambda",
    "lambda.revision",
    "lambda.code",
    "lambda.operation",
    "lambda.idempotency",
)


def create(client: TestClient, name: str = "hello", **fields: Any) -> dict[str, Any]:
    body = {"name": name, "file": NODE_CODE, "runtime": "node", "version": "20", **fields}
    response = client.post("/lambda", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def wait_operation(client: TestClient, operation_id: str, timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/lambda/operations/{operation_id}")
        assert response.status_code == 200, response.text
        op: dict[str, Any] = response.json()
        if op["state"] in {"succeeded", "failed"}:
            return op
        assert time.monotonic() < deadline, f"operation still {op['state']}: {op}"
        time.sleep(0.02)


def counts(db: Database[dict[str, Any]]) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in COLLECTIONS}


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code
