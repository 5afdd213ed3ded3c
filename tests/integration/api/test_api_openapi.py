"""The OpenAPI document describes every /lambda route, its bodies and its errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

ROUTES = {
    ("get", "/lambda/list"),
    ("get", "/lambda/default"),
    ("get", "/lambda/runtimes"),
    ("get", "/lambda/setup"),
    ("post", "/lambda/setup"),
    ("get", "/lambda"),
    ("post", "/lambda"),
    ("patch", "/lambda"),
    ("delete", "/lambda"),
    ("get", "/lambda/revisions"),
    ("get", "/lambda/operations/{operation_id}"),
    ("get", "/lambda/operation"),
    ("get", "/lambda/operations"),
}


def test_every_route_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    documented = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert documented >= ROUTES
    for method, path in ROUTES:
        operation = spec["paths"][path][method]
        assert operation["summary"] and operation["description"], (method, path)
        errors = [s for s in operation["responses"] if s.startswith(("4", "5"))]
        assert "503" in errors, (method, path)
        for status in errors:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


def test_bodies_accept_json_and_multipart(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for method in ("post", "patch"):
        content = spec["paths"]["/lambda"][method]["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data", "application/zip"}
        assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    create = spec["paths"]["/lambda"]["post"]
    assert create["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MutationOut"
    }
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])


def test_models_carry_examples(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["FunctionOut"]["properties"]["key"]["examples"]
    assert schemas["ErrorBody"]["properties"]["code"]["examples"] == ["function_not_found"]
    assert "PlanOut" in schemas and "OperationOut" in schemas
