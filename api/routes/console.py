"""The web console: the original's three pages (list, create, info), served by the API itself.

The pages are plain HTML with small ES modules and one stylesheet under `api/static/`; there
is no build step and nothing is fetched from another origin. Every page talks to the public
`/lambda` API from the browser, exactly like any other client (see docs/console.md).

Routes (all left out of the OpenAPI schema):
- `GET /`                       → redirect to `/console/`
- `GET /console`                → redirect to `/console/`
- `GET /console/login`          sign in with a token (or the printed link `#token=…`)
- `POST /console/session`       token → the session cookies; `DELETE` signs out
- `GET /console/`               the function list
- `GET /console/create`         the create form
- `GET /console/info?key=…`     one function: endpoint, test panel, status, edit with preview
- `GET /console/tokens`         API tokens (admins)
- `GET /console/static/{name}`  the stylesheet and the modules (only files of `api/static/`)

The pages need a signed-in session (else they redirect to the sign-in page); the static files
do not (they hold no data). The session cookie is HttpOnly and SameSite=Strict; its CSRF value
is a second, readable cookie that the console's writes repeat in `X-CSRF-Token`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, HTTPException, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel

from api.auth import CSRF_COOKIE, SESSION_COOKIE, client_of
from api.deps import PlatformDep

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


SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


def _page(name: str, request: Request, platform: PlatformDep, cookie: str | None) -> Response:
    """A page for a signed-in browser; anyone else goes to the sign-in page first."""
    if not platform.access.signed_in(cookie):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
    return _file(name)


class SignIn(BaseModel):
    token: str


@router.get("/console/login")
async def login_page() -> FileResponse:
    return _file("login.html")


@router.post("/console/session")
async def sign_in(
    body: SignIn, request: Request, response: Response, platform: PlatformDep
) -> dict[str, str]:
    """The token becomes a signed session cookie; the token itself is never stored here."""
    cookie, session = platform.access.sign_in(body.token, client_of(request))
    secure = request.url.scheme == "https"
    max_age = int(platform.access.session_s)
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age, httponly=True, secure=secure, samesite="strict"
    )
    response.set_cookie(CSRF_COOKIE, session.csrf, max_age, secure=secure, samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    return {"signed_in": "true"}


@router.delete("/console/session")
async def sign_out(response: Response) -> dict[str, str]:
    response.delete_cookie(SESSION_COOKIE, samesite="strict", httponly=True)
    response.delete_cookie(CSRF_COOKIE, samesite="strict")
    return {"signed_in": "false"}


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
async def list_page(
    request: Request, platform: PlatformDep, cookie: SessionCookie = None
) -> Response:
    return _page("list.html", request, platform, cookie)


@router.get("/console/create")
async def create_page(
    request: Request, platform: PlatformDep, cookie: SessionCookie = None
) -> Response:
    return _page("create.html", request, platform, cookie)


@router.get("/console/info")
async def info_page(
    request: Request, platform: PlatformDep, cookie: SessionCookie = None
) -> Response:
    """The key is read by the page's script from `?key=`; an unknown key is reported there."""
    return _page("info.html", request, platform, cookie)


@router.get("/console/tokens")
async def tokens_page(
    request: Request, platform: PlatformDep, cookie: SessionCookie = None
) -> Response:
    return _page("tokens.html", request, platform, cookie)


@router.get("/console/static/{name}")
async def static_file(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no console file {name!r}")
    return _file(name)
