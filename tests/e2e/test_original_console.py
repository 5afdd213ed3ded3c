"""The original console's calls, from a page of another origin, in a real browser.

A small page served from `http://localhost:<port>` (another site than the control plane at
`http://127.0.0.1:<port>`) makes exactly the calls the original Vue console makes, with
XMLHttpRequests the way axios 0.27 sends them (`Accept: application/json, text/plain, */*`,
JSON bodies as `application/json`, `?id=` as params), against `/original` through CORS; the
test asserts the statuses and shapes of the original backend's table. A call CORS refused
would reach the page as status 0 ("Network Error"), so every 200 below is also CORS working.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from engine.net import free_port
from tests.e2e.conftest import _serve

pytestmark = pytest.mark.browser

LAMBDA_KEYS = {"id", "title", "runtime", "version", "code", "disabled", "reg_date", "update_date"}
RUNTIME_KEYS = {
    "runtime", "version", "image", "default_code", "run_command", "disabled", "reg_date",
    "update_date",
}  # fmt: skip
GO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z")
CALL_TIMEOUT_MS = 90_000
"""A create waits for the local worker to start (seconds); the margin is for slow machines."""

# The console's calls (LambdaList.vue, LambdaAdd.vue, LambdaInfo.vue), on a minimal axios.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>original console calls</title></head><body>
<script>
const API = "__API__/original";          // VUE_APP_LAMBDA_CLONE_API
const ENDPOINT_API = "__API__";          // VUE_APP_LAMBDA_CLONE_ENDPOINT_API

// What axios 0.27 does in a browser: an XHR, JSON bodies, params in the query, the body
// parsed as JSON when it is JSON, 2xx resolves and anything else rejects with `response`.
function request(method, url, config = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = config.params ? "?" + new URLSearchParams(config.params) : "";
    xhr.open(method.toUpperCase(), url + query, true);
    xhr.setRequestHeader("Accept", "application/json, text/plain, */*");
    let body = null;
    if (config.data !== undefined) {
      xhr.setRequestHeader("Content-Type", "application/json");
      body = JSON.stringify(config.data);
    }
    xhr.onloadend = () => {
      if (xhr.status === 0) { reject(new Error("Network Error")); return; }
      let data = xhr.responseText;
      try { data = JSON.parse(data); } catch (e) { /* not JSON: as text, as axios does */ }
      const response = {
        status: xhr.status, data, contentType: xhr.getResponseHeader("content-type"),
      };
      if (xhr.status >= 200 && xhr.status < 300) resolve(response);
      else reject(Object.assign(new Error("Request failed with status code " + xhr.status),
                                { response }));
    };
    xhr.send(body);
  });
}
const axios = {
  get: (url, config) => request("get", url, config),
  delete: (url, config) => request("delete", url, config),
  post: (url, data, config) => request("post", url, { ...config, data }),
  patch: (url, data, config) => request("patch", url, { ...config, data }),
};

// The console's Lambda model: what it posts and patches.
function Lambda(p) {
  return { title: p.title ?? "", id: p.id ?? "", runtime: p.runtime ?? "",
           version: p.version ?? "", endpoint: p.endpoint ?? "", code: p.code ?? "" };
}

const settle = (promise) => promise.then(
  (res) => ({ status: res.status, data: res.data, contentType: res.contentType }),
  (err) => err.response ? { status: err.response.status, data: err.response.data,
                            contentType: err.response.contentType }
                        : { status: 0, error: String(err.message) });

window.calls = {
  runtimes: () => settle(axios.get(API + "/lambda/runtimes")),
  default: () => settle(axios.get(API + "/lambda/default")),
  // LambdaAdd.creteLambda: the default lambda (id emptied), a title, the runtime's default code.
  create: (defaults, title, code) => {
    const lambda = Lambda(defaults);
    lambda.id = "";
    lambda.title = title;
    lambda.code = code;
    return settle(axios.post(API + "/lambda", lambda));
  },
  get: (id) => settle(axios.get(API + "/lambda", { params: { id } })),
  list: (params) => settle(axios.get(API + "/lambda/list", params ? { params } : undefined)),
  // LambdaInfo.saveLambda: the fetched lambda with its endpoint link, edited.
  save: (fetched, code) => {
    const lambda = Lambda(fetched);
    lambda.endpoint = ENDPOINT_API + "/endpoint/" + lambda.id;
    lambda.code = code;
    return settle(axios.patch(API + "/lambda", lambda));
  },
  remove: (id) => settle(axios.delete(API + "/lambda", { params: { id } })),
};
document.title = "ready";
</script></body></html>
"""


@dataclass
class Setup:
    api: str
    page_origin: str


@contextlib.contextmanager
def _page_server(html: str, port: int) -> Iterator[None]:
    """Serves `html` at `/` on `port`: the other origin the original console runs on."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="console-origin", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def setup(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[Setup]:
    """The control plane (local target, original dialect public, CORS for the page's origin)
    and the page's server."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    page_port = free_port()
    page_origin = f"http://localhost:{page_port}"
    extra = {"original_api": "public", "cors_origins": (page_origin,)}
    with _serve(mongo_uri, mongo_db_name, data_dir, **extra) as api:
        html = PAGE.replace("__API__", api)
        with _page_server(html, page_port):
            yield Setup(api=api, page_origin=page_origin)


@pytest.fixture
def origin_page(browser: BrowserContext, setup: Setup) -> Iterator[Page]:
    tab = browser.new_page()
    tab.set_default_timeout(CALL_TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(setup.page_origin + "/")
    tab.wait_for_function("document.title === 'ready'")
    yield tab
    assert not errors, errors


def call(page: Page, name: str, *args: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(f"(args) => calls.{name}(...args)", list(args))
    assert result["status"] != 0, f"{name}: the browser refused the call ({result})"
    return result


def test_the_original_consoles_calls_through_cors(origin_page: Page, setup: Setup) -> None:
    page = origin_page
    runtimes = call(page, "runtimes")
    assert runtimes["status"] == 200 and set(runtimes["data"]) == {"runtimes"}
    for runtime in runtimes["data"]["runtimes"]:
        assert set(runtime) == RUNTIME_KEYS and GO_TIME.fullmatch(runtime["reg_date"])
    node = next(r for r in runtimes["data"]["runtimes"] if r["runtime"] == "node")

    default = call(page, "default")
    assert default["status"] == 200 and set(default["data"]) == LAMBDA_KEYS
    assert (default["data"]["runtime"], default["data"]["version"]) == ("node", "20")

    created = call(page, "create", default["data"], "Console test", node["default_code"])
    assert created["status"] == 200, created
    assert created["contentType"].startswith("application/json")
    key = created["data"]
    assert isinstance(key, str) and key
    # 200 means deployed: the endpoint answers at once with the default code's JSON.
    invoked = httpx.get(f"{setup.api}/endpoint/{key}", params={"who": "test"}, timeout=30)
    assert invoked.status_code == 200 and invoked.json()["params"] == {"who": "test"}

    fetched = call(page, "get", key)
    assert fetched["status"] == 200 and set(fetched["data"]) == LAMBDA_KEYS
    assert (fetched["data"]["id"], fetched["data"]["title"]) == (key, "Console test")
    assert fetched["data"]["code"] == node["default_code"]
    assert fetched["data"]["disabled"] is False
    assert GO_TIME.fullmatch(fetched["data"]["update_date"])

    listed = call(page, "list")
    assert listed["status"] == 200 and set(listed["data"]) == {"lambdas", "pages", "cnt"}
    assert (listed["data"]["cnt"], listed["data"]["pages"]) == (1, 1)
    assert [(i["id"], i["title"]) for i in listed["data"]["lambdas"]] == [(key, "Console test")]
    assert set(listed["data"]["lambdas"][0]) == LAMBDA_KEYS

    edited = node["default_code"].replace("Hello from lambdaclone (node)!", "Saved!")
    saved = call(page, "save", fetched["data"], edited)
    assert (saved["status"], saved["data"]) == (200, "")
    assert httpx.get(f"{setup.api}/endpoint/{key}", timeout=30).json()["message"] == "Saved!"
    assert call(page, "get", key)["data"]["code"] == edited

    refused = call(page, "list", {"page": "0"})
    assert refused == {
        "status": 400,
        "data": {"error": "parameter page must be > 0"},
        "contentType": "application/json",
    }

    removed = call(page, "remove", key)
    assert (removed["status"], removed["data"]) == (200, "")
    assert call(page, "list")["data"] == {"lambdas": [], "pages": 0, "cnt": 0}
    assert call(page, "get", key)["data"]["disabled"] is True
