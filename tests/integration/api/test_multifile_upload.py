"""A package uploaded file by file (multipart `files` parts named by their relative paths)
through the real API on FerretDB: assembled into one package with the zip upload's rules."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pymongo.database import Database

from engine import package
from tests.fixtures.api import counts, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget

APP = b"from lib.helper import WHO\n\ndef handler(event, context):\n    return WHO\n"
HELPER = b"WHO = 'helper'\n"
FIELDS = {"name": "parts", "runtime": "python", "version": "3.12", "handler": "src/app.handler"}


def post(client: TestClient, parts: list[tuple[str, tuple[str, bytes]]], **fields: str) -> Any:
    return client.post("/lambda", data={**FIELDS, **fields}, files=parts)


def test_files_parts_become_one_package(client: TestClient, target: FakeTarget) -> None:
    parts = [("files", ("src/app.py", APP)), ("files", ("src/lib/helper.py", HELPER))]
    made = post(client, parts)
    assert made.status_code == 202, made.text
    wait_operation(client, made.json()["operation"]["id"])
    spec = target.applied[made.json()["function"]["key"]]
    assert spec.is_package
    assert [f.path for f in package.manifest(spec.code)] == ["src/app.py", "src/lib/helper.py"]
    again = post(client, parts[::-1], name="parts-again")  # same files, other order
    wait_operation(client, again.json()["operation"]["id"])
    other = target.applied[again.json()["function"]["key"]]
    assert other.code_sha256 == spec.code_sha256


def test_files_parts_are_refused_like_a_zip_and_nothing_is_written(
    client: TestClient, db: Database[dict[str, Any]]
) -> None:
    before = counts(db)
    app = ("files", ("src/app.py", APP))
    cases = [
        ([app, ("files", ("../evil.py", b"x"))], {}, "package_unsafe_path"),
        ([app, ("files", ("/etc/cron.d/x", b"x"))], {}, "package_unsafe_path"),
        ([app, ("files", ("", b"x"))], {}, "invalid_request"),  # no file name: not a file
        ([app, ("files", ("src/app.py", b"again"))], {}, "invalid_package"),
        ([("files", ("src/other.py", APP))], {}, "package_no_handler"),
        ([app, ("file", ("app.py", APP))], {}, "conflicting_fields"),
        ([app], {"code": "print(1)"}, "conflicting_fields"),
        ([("file", ("a.py", APP)), ("file", ("b.py", APP))], {}, "duplicate_field"),
    ]
    for parts, fields, code in cases:
        answer = post(client, parts, **fields)
        assert answer.status_code == 422 and error_code(answer) == code, (code, answer.text)
    assert counts(db) == before
