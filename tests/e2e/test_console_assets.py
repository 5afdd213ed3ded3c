"""The console's serving and its highlighter, without a browser: the routes of
`api/routes/console.py` on a bare app, and `editor.js`'s tokenizer run by node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes.console import ASSETS, STATIC_DIR, router
from runtimes.registry import drivers
from tests.fixtures.invoke_app import memory_access

PAGES = {
    "/console/": "list.html",
    "/console/create": "create.html",
    "/console/info": "info.html",
    "/console/tokens": "tokens.html",
    "/console/login": "login.html",
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The console's routes on a bare app, with the session checks of a real access service."""
    app = FastAPI()
    app.include_router(router)
    access = memory_access()
    app.state.platform = SimpleNamespace(access=access)
    with TestClient(app) as test_client:
        secret = test_client.portal.call(access.create, "console", "viewer")[1]  # type: ignore[union-attr]
        answer = test_client.post("/console/session", json={"token": secret})
        assert answer.status_code == 200, answer.text
        yield test_client


def test_pages_need_a_session_and_the_sign_in_page_does_not(client: TestClient) -> None:
    client.cookies.clear()
    away = client.get("/console/info", params={"key": "k"}, follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/console/login?next=/console/info%3Fkey%3Dk"
    assert client.get("/console/login").status_code == 200
    assert client.get("/console/static/api.js").status_code == 200


def test_root_and_console_redirect_to_the_list(client: TestClient) -> None:
    for path in ("/", "/console"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == "/console/"


@pytest.mark.parametrize(("path", "name"), PAGES.items())
def test_pages_are_served_and_reference_only_local_files(
    client: TestClient, path: str, name: str
) -> None:
    response = client.get(path, params={"key": "x"} if "info" in path else None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (STATIC_DIR / name).read_text()
    for ref in ("http://", "https://", "//cdn"):
        assert f'src="{ref}' not in response.text
        assert f'href="{ref}' not in response.text


def test_every_module_import_names_a_served_file(client: TestClient) -> None:
    for name in sorted(n for n in ASSETS if n.endswith(".js")):
        response = client.get(f"/console/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.headers["cache-control"] == "no-cache"
        targets = re.findall(r"^(?:import|\}) .*?from '([^']+)';$", response.text, re.MULTILINE)
        for target in targets:
            assert target.startswith("./"), f"{name} imports {target}"
            assert target[2:] in ASSETS, f"{name} imports {target}"
        if name not in {"api.js", "editor.js"}:
            assert targets, f"{name} imports nothing?"
    assert client.get("/console/static/console.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "name", ["missing.js", "..%2Fapp.py", "%2E%2E%2Froutes%2Fconsole.py", "list.html.bak"]
)
def test_unknown_or_escaping_names_are_404(client: TestClient, name: str) -> None:
    assert client.get(f"/console/static/{name}").status_code == 404


def test_editor_stays_small() -> None:
    assert len((STATIC_DIR / "editor.js").read_text().splitlines()) <= 160


HIGHLIGHT = """
import { highlight } from %s;
import { readFileSync } from 'node:fs';
const out = {};
for (const [lang, path] of Object.entries(JSON.parse(process.argv[2]))) {
  const code = readFileSync(path, 'utf8');
  const html = highlight(code, lang);
  const text = html.replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const tokens = {};
  for (const [, cls, word] of html.matchAll(/<span class="tok-(\\w+)">([^<]*)<\\/span>/g)) {
    (tokens[cls] ||= []).push(word);
  }
  out[lang] = { same: text === code, tokens };
}
console.log(JSON.stringify(out));
"""


def test_highlighter_tokenizes_each_default_code_without_changing_it(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is required (the node runtime needs it too)"
    script = tmp_path / "highlight.mjs"
    script.write_text(HIGHLIGHT % json.dumps((STATIC_DIR / "editor.js").as_uri()))
    files = {
        **{d.editor_mode: str(d.default_code_path) for d in drivers().values()},
    }
    done = subprocess.run(
        [node, str(script), json.dumps(files)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    for lang in files:
        assert result[lang]["same"], f"{lang}: the highlighted text differs from the code"
    go, js, py = (result[lang]["tokens"] for lang in ("go", "javascript", "python"))
    assert {"package", "func", "import"} <= set(go["kw"])
    assert "handler" in go["fn"]
    assert any(s.startswith("// lambdaclone") for s in go["com"])
    assert {"function", "export", "default"} <= set(js["kw"])
    assert "handler" in js["fn"]
    assert "200" in js["num"]
    assert {"from", "import", "def", "return"} <= set(py["kw"])
    assert {"handler", "jsonify"} <= set(py["fn"])
    assert any(s.startswith('"""') for s in py["str"])
