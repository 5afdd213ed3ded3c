"""Deploy → first invoke of function packages with dependencies, on the local target.

    uv run python -m bench.deploy_packages [--runs 5]

The control plane as `make run` serves it (the app with its embedded FerretDB, the local
target, sandboxed workers), in a fresh data directory. Each row creates new functions with
`POST /lambda?wait=true` and GETs `/endpoint/{key}` until it answers 200; the time is from the
POST to that answer. Per case the first function builds its dependency set (`uncached`: our
cache is empty, though pip's and npm's own download caches may be warm) and the next `--runs`
functions, each with different code but the same manifest, find it built (`cached`). A single
file without dependencies is the baseline. Goal: cached p50 ≤ 1 s for python and node.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from bench.invoke import percentile as pct
from engine.settings import Settings
from tests.fixtures.api import ADMIN_TOKEN, AUTH, LOCAL_URL

PLAIN_APP = "def handler(event, context):\n    return {'plain': True}\n"
PY_APP = "import six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"
NODE_APP = (
    "const _ = require('lodash');\n"
    "exports.handler = async () => ({ statusCode: 200, body: _.join(['a', 'b'], '-') });\n"
)
NODE_PACKAGE = {"name": "b", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}
CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "python single file": ({"runtime": "python", "handler": "app.handler"}, {"app.py": PLAIN_APP}),
    "python + six": (
        {"runtime": "python", "handler": "app.handler"},
        {"app.py": PY_APP, "requirements.txt": "six==1.17.0\n"},
    ),
    "node + lodash": (
        {"runtime": "node", "handler": "index.handler"},
        {"index.js": NODE_APP, "package.json": json.dumps(NODE_PACKAGE)},
    ),
}
"""name → (fields, files); the single file is sent as `file`, the others as a zip."""


COMMENT = {".py": "#", ".js": "//"}


def salted(name: str, text: str, salt: str) -> str:
    """A code file with a comment that makes it new code (a manifest stays the same)."""
    mark = COMMENT.get(Path(name).suffix)
    return f"{text}\n{mark} {salt}\n" if mark else text


def deploy_seconds(client: TestClient, name: str, salt: str) -> float:
    fields, files = CASES[name]
    body = {**fields, "name": f"b-{uuid.uuid4().hex[:8]}"}
    started = time.perf_counter()
    if len(files) == 1:
        ((filename, code),) = files.items()
        body["file"] = salted(filename, code, salt)
        response = client.post("/lambda", params={"wait": "true"}, json=body)
    else:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zipped:
            for filename, text in files.items():
                zipped.writestr(filename, salted(filename, text, salt))
        params = {**body, "wait": "true"}
        headers = {"content-type": "application/zip"}
        response = client.post("/lambda", params=params, content=out.getvalue(), headers=headers)
    assert response.status_code in {200, 201}, response.text
    key = response.json()["function"]["key"]
    while client.get(f"/endpoint/{key}").status_code != 200:
        time.sleep(0.005)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"\ndeploy → first 200, local target, embedded store ({args.runs} cached runs, s)")
    print(f"{'case':<20}{'uncached':>10}{'cached p50':>12}{'cached max':>12}")
    with tempfile.TemporaryDirectory(prefix="lc-bench-packages-") as tmp:
        token = SecretStr(ADMIN_TOKEN)  # what AUTH sends
        settings = Settings(data_dir=Path(tmp), target="local", admin_token=token)
        with TestClient(create_app(settings), base_url=LOCAL_URL, headers=AUTH) as client:
            for name in CASES:
                first = deploy_seconds(client, name, "first")
                cached = [deploy_seconds(client, name, f"run {n}") for n in range(args.runs)]
                print(f"{name:<20}{first:>10.2f}{pct(cached, 50):>12.2f}{max(cached):>12.2f}")
    print("goal: cached p50 <= 1 s for python and node")


if __name__ == "__main__":
    main()
