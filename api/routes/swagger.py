"""`/docs`: Swagger UI over the OpenAPI document, with its assets served by the app itself
(vendored from the npm package swagger-ui-dist under `api/static/swagger/`), so the
documentation works offline and no page of the control plane loads code from a CDN.

The app is created with `docs_url=None` (FastAPI's own `/docs` points at a CDN); this router
replaces it. The asset paths carry the version, so browsers may cache them for a long time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

SWAGGER_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger"
SWAGGER_UI_VERSION = "5.35.0"
ASSET_PREFIX = f"/docs/assets/{SWAGGER_UI_VERSION}"
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
"""The only files served: a closed set, so no request names a path of its own."""
CACHED = {"Cache-Control": "public, max-age=604800, immutable", "X-Content-Type-Options": "nosniff"}
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} — API",
        swagger_js_url=f"{root}{ASSET_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSET_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSET_PREFIX}/favicon-32x32.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        # No validator badge: it would send the document's URL to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(ASSET_PREFIX + "/{name}")
async def swagger_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(SWAGGER_DIR / name, media_type=ASSETS[name], headers=CACHED)
