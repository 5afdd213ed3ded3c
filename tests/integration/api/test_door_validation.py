"""Input refused at the door: 422 with a stable code, and nothing written — in JSON and in
multipart forms alike (the app on FerretDB, in process)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from tests.fixtures.api import NODE_CODE, counts, create, error_code

Db = Database[dict[str, Any]]
PY_CODE = "def lambda_handler(event, context):\n    return {'ok': True}\n"


def refused(client: TestClient, db: Db, *, status: int = 422, **request: Any) -> str:
    """The error code of a create that must be refused and leave the store as it was."""
    before = counts(db)
    answer = client.post("/lambda", **request)
    assert answer.status_code == status, answer.text
    assert counts(db) == before
    return error_code(answer)


def form(*parts: tuple[str, str | bytes], upload: tuple[str, bytes] | None = None) -> Any:
    """A multipart body that may repeat a field (httpx's dicts cannot)."""
    files: list[tuple[str, Any]] = [(name, (None, value)) for name, value in parts]
    if upload:
        files.append((upload[0], ("handler.mjs", upload[1], "text/javascript")))
    return {"files": files}


@pytest.mark.parametrize(
    ("runtime", "handler"),
    [
        ("python", "handler.__import__"),
        ("python", "__main__.handler"),
        ("node", "index.__proto__"),
        ("node", "__init__.handler"),
    ],
)
def test_handlers_naming_the_languages_internals_are_refused(
    client: TestClient, db: Db, runtime: str, handler: str
) -> None:
    version = {"python": "3.12", "node": "20"}[runtime]
    body = {"name": "h", "file": PY_CODE, "runtime": runtime, "version": version}
    assert refused(client, db, json={**body, "handler": handler}) == "invalid_handler"


@pytest.mark.parametrize(
    ("runtime", "version", "handler"),
    [
        ("python", "3.12", "lambda_function.lambda_handler"),
        ("python", "3.12", "app.main"),
        ("python", "3.12", "main.handler"),
        ("node", "20", "index.handler"),
        ("node", "20", "app.handler"),
        ("node", "20", "my-function.handler"),
    ],
)
def test_what_lambda_users_write_passes(
    client: TestClient, runtime: str, version: str, handler: str
) -> None:
    fields = {"runtime": runtime, "version": version, "handler": handler, "file": PY_CODE}
    assert create(client, "lambda-style", **fields)["function"]["handler"] == handler


def test_code_with_a_nul_byte_is_refused(client: TestClient, db: Db) -> None:
    body = {"name": "nul", "file": "export default () => 1;\x00\n"}
    assert refused(client, db, json=body) == "invalid_code"
    upload = ("file", b"export default () => 1;\x00\n")
    assert refused(client, db, **form(("name", "nul"), upload=upload)) == "invalid_code"


def test_repeated_or_conflicting_form_parts_are_refused(client: TestClient, db: Db) -> None:
    code = NODE_CODE.encode()
    two_files = form(("name", "a"), ("file", NODE_CODE), upload=("file", code))
    assert refused(client, db, **two_files) == "duplicate_field"
    twice = form(("name", "a"), ("name", "b"), upload=("file", code))
    assert refused(client, db, **twice) == "duplicate_field"
    file_and_code = form(("name", "a"), ("code", NODE_CODE), upload=("file", code))
    assert refused(client, db, **file_and_code) == "conflicting_fields"
    two_uploads: dict[str, Any] = {"files": [("file", ("a.mjs", code)), ("file", ("b.mjs", code))]}
    assert refused(client, db, data={"name": "a"}, **two_uploads) == "duplicate_field"


def test_json_keys_given_twice_are_refused(client: TestClient, db: Db) -> None:
    raw = f'{{"name": "a", "name": "b", "file": {NODE_CODE!r}}}'.replace("'", '"')
    headers = {"Content-Type": "application/json"}
    assert refused(client, db, content=raw, headers=headers) == "duplicate_field"


@pytest.mark.parametrize(
    "fields",
    [
        {"memory_mb": "128"},
        {"concurrency": True},
        {"timeout_ms": 1.5},
        {"timeout_ms": "3000"},
        {"memory_mb": None, "concurrency": [10]},
        {"env": {"A": 1}},
        {"handler": 7},
        {"name": 5},
    ],
)
def test_json_types_are_not_coerced(client: TestClient, db: Db, fields: dict[str, Any]) -> None:
    body = {"name": "strict", "file": NODE_CODE, **fields}
    assert refused(client, db, json=body) == "invalid_request"


def test_json_numbers_are_numbers(client: TestClient, db: Db) -> None:
    """JSON has one number type: 256.0 is the integer 256 (JSON Schema agrees); NaN is none."""
    made = create(client, "float-int", memory_mb=256.0)
    assert made["function"]["memory_mb"] == 256
    raw = '{"name": "nan", "file": "x", "memory_mb": NaN}'
    headers = {"Content-Type": "application/json"}
    assert refused(client, db, content=raw, headers=headers) == "invalid_request"


@pytest.mark.parametrize("text", ["+128", " 128", "128 ", "128.0", "1e3", "0x80", "0128", "true"])
def test_a_form_number_is_decimal_digits(client: TestClient, db: Db, text: str) -> None:
    body = form(("name", "strict"), ("memory_mb", text), upload=("file", NODE_CODE.encode()))
    assert refused(client, db, **body) == "invalid_request"


def test_a_form_number_in_digits_is_read(client: TestClient) -> None:
    body = form(("name", "digits"), ("memory_mb", "256"), upload=("file", NODE_CODE.encode()))
    answer = client.post("/lambda", **body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["function"]["memory_mb"] == 256


def test_form_routes_and_layers_are_json_arrays(client: TestClient, db: Db) -> None:
    routes = '["GET /items/{id}", "$default"]'
    body = form(("name", "routed"), ("routes", routes), upload=("file", NODE_CODE.encode()))
    answer = client.post("/lambda", **body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["function"]["routes"] == ["GET /items/{id}", "$default"]
    bare = form(("name", "bare"), ("routes", "GET /items"), upload=("file", NODE_CODE.encode()))
    assert refused(client, db, **bare) == "invalid_request"
    unknown = form(("name", "l"), ("layers", '["nope:1"]'), upload=("file", NODE_CODE.encode()))
    assert refused(client, db, **unknown) == "unknown_layer"


@pytest.mark.parametrize(
    "name",
    [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDACLONE_ADMIN_TOKEN",
        "PORT",
        "HOST",
        "PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        "PYTHONHOME",
        "NODE_OPTIONS",
        "NODE_PATH",
        "port",
    ],
)
def test_reserved_variables_are_refused(client: TestClient, db: Db, name: str) -> None:
    for field in ("env", "secrets"):
        body = {"name": "env", "file": NODE_CODE, field: {name: "x"}}
        assert refused(client, db, json=body) == "reserved_env"


def test_variables_lambda_users_set_are_allowed(client: TestClient) -> None:
    env = {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "NODE_ENV": "production",
        "TZ": "Europe/Paris",
        "PYTHONUNBUFFERED": "1",
        "GOMAXPROCS": "2",
    }
    secrets = {"AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    made = create(client, "aws-sdk", env=env, secrets=secrets)["function"]
    assert made["env"] == env and sorted(made["secrets"]) == sorted(secrets)


@pytest.mark.parametrize(
    "query",
    [
        "/lambda/list?phse=Ready",  # misspelt: not silently ignored
        "/lambda/list?name=a&name=b",  # which one was meant is not ours to guess
        "/lambda/list?phase=Ready&phase=Failed",
    ],
)
def test_a_read_with_an_undeclared_or_repeated_parameter_is_422(
    client: TestClient, query: str
) -> None:
    answer = client.get(query)
    assert (answer.status_code, error_code(answer)) == (422, "invalid_request"), answer.text
    assert client.get("/lambda/list?name=a&phase=Ready").status_code == 200
