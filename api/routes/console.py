"""The web console: the original's three pages (list, create, info), served by the API itself.

The pages are plain HTML with small ES modules and one stylesheet under `api/static/`; there
is no build step and nothing is fetched from another origin. Every page talks to the public
`/lambda` API from the browser, exactly like any other client (see docs/console.md).

Routes (all left out of the OpenAPI schema):
- `GET /`                       → redirect to `/console/`
- `GET /console`                → redirect to `/console/`
- `GET /console/`               the function list
- `GET /console/create`         the create form
- `GET /console/info?key=…`     one function: endpoint, test panel, status, edit with preview
- `GET /console/static/{name}`  the stylesheet and the modules (only files of `api/static/`)
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
"""`api/static/`: the pages, the stylesheet and the modules."""

MEDIA_TYPES: dict[str, str] = {
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
"""Revalidate on every load, so a restarted server never leaves old modules in a browser."""

ASSETS: frozenset[str] = frozenset(
    path.name
    for path in STATIC_DIR.iterdir()
    if path.is_file() and path.suffix in MEDIA_TYPES and not path.name.startswith(".")
)
"""The only names `/console/static/{name}` serves: a closed set, so no path ever escapes."""

router = APIRouter(include_in_schema=False)


def _file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=NO_CACHE)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
async def list_page() -> FileResponse:
    return _file("list.html")


@router.get("/console/create")
async def create_page() -> FileResponse:
    return _file("create.html")


@router.get("/console/info")
async def info_page() -> FileResponse:
    """The key is read by the page's script from `?key=`; an unknown key is reported there."""
    return _file("info.html")


@router.get("/console/static/{name}")
async def static_file(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no console file {name!r}")
    return _file(name)
