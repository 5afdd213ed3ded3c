"""`/docs` works offline: the Swagger UI page references only the app's own files, and the app
serves them (vendored swagger-ui-dist), never a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.routes.swagger import ASSETS, SWAGGER_DIR

REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""")


def test_docs_reference_only_same_origin_assets_and_they_are_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    refs = [a or b for a, b in REFERENCE.findall(page.text)]
    assert len(refs) >= 4  # the stylesheet, the icon, the bundle, the OpenAPI document
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
    assert "cdn" not in page.text.lower()
    assert "validatorUrl" in page.text  # the validator badge (an outside request) is off
    for ref in refs:
        answer = client.get(ref)
        assert answer.status_code == 200, ref
        if ref.endswith(".js"):
            assert answer.headers["content-type"].startswith("text/javascript")
            assert answer.content == (SWAGGER_DIR / "swagger-ui-bundle.js").read_bytes()
        if ref.endswith(".css"):
            assert answer.headers["content-type"].startswith("text/css")


def test_only_the_vendored_assets_are_served(client: TestClient) -> None:
    prefix = next(
        ref for ref in re.findall(r'src="([^"]+)"', client.get("/docs").text) if ref.endswith(".js")
    ).rsplit("/", 1)[0]
    for name in ASSETS:
        assert client.get(f"{prefix}/{name}").status_code == 200
    for name in ("LICENSE", "README.md", "..%2F..%2Fapp.py", "swagger-ui.css.map"):
        assert client.get(f"{prefix}/{name}").status_code == 404


def test_oauth2_redirect_page(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200
