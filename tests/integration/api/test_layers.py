"""Layers through the real API, with auth, on the session's FerretDB: versions, the package
rules, attaching (unknown versions refused, nothing written), deleting a used version (409)
and roles."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from pymongo.database import Database

from engine.layers import code_key
from tests.fixtures.api import NODE_CODE, error_code, wait_operation
from tests.fixtures.fake_target import FakeTarget
from tests.fixtures.packages import zip_bomb, zip_of, zip_with_symlink

ZIP = {"content-type": "application/zip"}
LAYER_COLLECTIONS = ("lambda.layer", "lambda.layer.use", "lambda.code", "lambda.code.ref")
PY_LAYER = {"python/shared.py": "GREETING = 'hi'\n"}


def publish(client: TestClient, name: str, files: dict[str, str], **params: str) -> Any:
    return client.post(
        "/lambda/layers", content=zip_of(files), headers=ZIP, params={"name": name, **params}
    )


def published(client: TestClient, name: str, files: dict[str, str]) -> dict[str, Any]:
    response = publish(client, name, files)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_with(client: TestClient, name: str, layers: list[str]) -> Any:
    body = {"name": name, "file": NODE_CODE, "runtime": "node", "version": "20", "layers": layers}
    return client.post("/lambda", json=body)


def stored(db: Database[dict[str, Any]]) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in LAYER_COLLECTIONS}


def test_publishing_a_name_again_makes_the_next_version(client: TestClient) -> None:
    first = published(client, "utils", PY_LAYER)
    second = published(client, "utils", {"python/shared.py": "GREETING = 'hello'\n"})
    assert (first["version"], second["version"]) == (1, 2)
    assert second["ref"] == "utils:2" and second["files"] == 1
    assert second["unpacked_bytes"] == len("GREETING = 'hello'\n")

    versions = client.get("/lambda/layers/versions", params={"name": "utils"}).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    one = client.get("/lambda/layers/version", params={"name": "utils", "version": 1})
    assert one.status_code == 200 and one.json()["sha256"] == first["sha256"]
    assert "content" not in one.json()
    published(client, "other", PY_LAYER)
    latest = client.get("/lambda/layers").json()["items"]
    assert [(v["name"], v["version"]) for v in latest] == [("other", 1), ("utils", 2)]

    missing = client.get("/lambda/layers/version", params={"name": "utils", "version": 9})
    assert missing.status_code == 404 and error_code(missing) == "layer_version_not_found"
    assert client.get("/lambda/layers/versions", params={"name": "none"}).json()["items"] == []


def test_bad_layer_zips_get_the_package_codes_and_nothing_is_stored(
    client: TestClient, db: Database[dict[str, Any]]
) -> None:
    before = stored(db)
    cases = [
        (zip_of({"../escape.py": "x"}), 422, "package_unsafe_path"),
        (
            zip_with_symlink({"python/a.py": "x"}, "python/out", "../../etc/passwd"),
            422,
            "package_symlink",
        ),
        (zip_bomb(64 * 1024 * 1024), 422, "package_bomb"),
        (b"PK\x03\x04 not really a zip", 422, "invalid_package"),
        (b"x" * (50 * 1024 * 1024 + 1), 413, "package_too_large"),
    ]
    for body, status, code in cases:
        answer = client.post("/lambda/layers", content=body, headers=ZIP, params={"name": "bad"})
        assert (answer.status_code, error_code(answer)) == (status, code), answer.text
    as_json = client.post("/lambda/layers", json={"x": 1}, params={"name": "bad"})
    assert as_json.status_code == 415
    bad_name = publish(client, "no spaces", PY_LAYER)
    assert (bad_name.status_code, error_code(bad_name)) == (422, "invalid_layer_name")
    assert stored(db) == before
    assert client.get("/lambda/layers/versions", params={"name": "bad"}).json()["items"] == []


def test_an_unknown_layer_on_create_or_update_writes_nothing(
    client: TestClient, db: Database[dict[str, Any]]
) -> None:
    published(client, "known", PY_LAYER)
    before = (db["lambda"].count_documents({}), stored(db))
    for layers, code in (
        (["nope:1"], "unknown_layer"),
        (["known:2"], "unknown_layer"),
        (["known"], "invalid_layer"),
        ([f"l{i}:1" for i in range(6)], "too_many_layers"),
        (["known:1", "known:1"], "invalid_layer"),
    ):
        answer = create_with(client, "fn", layers)
        assert (answer.status_code, error_code(answer)) == (422, code), answer.text
    assert (db["lambda"].count_documents({}), stored(db)) == before

    made = create_with(client, "fn", ["known:1"]).json()
    key = made["function"]["key"]
    wait_operation(client, made["operation"]["id"])
    revisions = db["lambda.revision"].count_documents({})
    answer = client.patch("/lambda", json={"key": key, "layers": ["known:1", "nope:3"]})
    assert (answer.status_code, error_code(answer)) == (422, "unknown_layer")
    assert db["lambda.revision"].count_documents({}) == revisions

    # A layers change is part of the revision: the preview shows it.
    published(client, "known", PY_LAYER)
    preview = client.patch(
        "/lambda", json={"key": key, "layers": ["known:2"]}, params={"preview": "true"}
    )
    assert preview.status_code == 200, preview.text
    change = next(f for f in preview.json()["fields"] if f["path"] == "layers")
    assert (change["old"], change["new"]) == (["known:1"], ["known:2"])


def test_a_used_version_cannot_be_deleted_until_every_function_detaches(
    client: TestClient, db: Database[dict[str, Any]], target: FakeTarget
) -> None:
    published(client, "shared", PY_LAYER)
    keys = []
    for name in ("one", "two"):
        made = create_with(client, name, ["shared:1"]).json()
        wait_operation(client, made["operation"]["id"])
        keys.append(made["function"]["key"])
    params = {"name": "shared", "version": 1}

    refused = client.delete("/lambda/layers/version", params=params)
    assert (refused.status_code, error_code(refused)) == (409, "layer_version_in_use")
    assert sorted(refused.json()["error"]["detail"]["functions"]) == sorted(keys)

    detached = client.patch("/lambda", json={"key": keys[0], "layers": []})
    wait_operation(client, detached.json()["operation"]["id"])
    # A function being deleted still holds it: refused until the delete is done.
    target.gate = threading.Event()
    deleting = client.delete("/lambda", params={"key": keys[1]})
    still = client.delete("/lambda/layers/version", params=params)
    target.gate.set()
    assert (still.status_code, error_code(still)) == (409, "layer_version_in_use")
    assert still.json()["error"]["detail"]["functions"] == [keys[1]]
    wait_operation(client, deleting.json()["operation"]["id"])

    content = {"key": code_key("shared", 1)}
    assert db["lambda.code.ref"].count_documents(content) == 1
    gone = client.delete("/lambda/layers/version", params=params)
    assert gone.status_code == 204, gone.text
    assert client.delete("/lambda/layers/version", params=params).status_code == 204
    missing = client.get("/lambda/layers/version", params=params)
    assert missing.status_code == 404
    assert db["lambda.code.ref"].count_documents(content) == 0  # its content is gone
    again = create_with(client, "three", ["shared:1"])
    assert (again.status_code, error_code(again)) == (422, "unknown_layer")
    # A version number is never given twice.
    assert published(client, "shared", PY_LAYER)["version"] == 2


def test_a_viewer_reads_layers_and_cannot_publish_or_delete(client: TestClient) -> None:
    published(client, "roles", PY_LAYER)
    made = client.post("/lambda/tokens", json={"name": "a viewer", "role": "viewer"})
    viewer = {"Authorization": f"Bearer {made.json()['secret']}"}
    made = client.post("/lambda/tokens", json={"name": "a developer", "role": "developer"})
    developer = {"Authorization": f"Bearer {made.json()['secret']}"}

    assert client.get("/lambda/layers", headers=viewer).status_code == 200
    assert (
        client.get("/lambda/layers/versions", headers=viewer, params={"name": "roles"}).status_code
        == 200
    )
    denied = client.post(
        "/lambda/layers",
        content=zip_of(PY_LAYER),
        headers={**ZIP, **viewer},
        params={"name": "roles"},
    )
    assert (denied.status_code, error_code(denied)) == (403, "forbidden")
    version = {"name": "roles", "version": 1}
    assert (
        client.delete("/lambda/layers/version", headers=viewer, params=version).status_code == 403
    )
    anonymous = client.get("/lambda/layers", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    allowed = client.post(
        "/lambda/layers",
        content=zip_of(PY_LAYER),
        headers={**ZIP, **developer},
        params={"name": "roles"},
    )
    assert allowed.status_code == 201 and allowed.json()["version"] == 2


def test_a_package_upload_names_its_layers_in_the_query_string(client: TestClient) -> None:
    published(client, "a", PY_LAYER)
    published(client, "b", PY_LAYER)
    package = zip_of({"app.py": "def handler(event, context):\n    return 1\n"})
    params = {"name": "zipped", "runtime": "python", "handler": "app.handler", "layers": "a:1,b:1"}
    made = client.post("/lambda", content=package, headers=ZIP, params=params)
    assert made.status_code == 202, made.text
    wait_operation(client, made.json()["operation"]["id"])
    key = made.json()["function"]["key"]
    refused = client.delete("/lambda/layers/version", params={"name": "b", "version": 1})
    assert refused.json()["error"]["detail"]["functions"] == [key]
