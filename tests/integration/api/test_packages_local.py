"""Function packages with real dependencies from the registries, on the real local target and
FerretDB: zip uploads, handlers in folders, pip and npm installs at deploy time, a failing
build that leaves the previous revision serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.local_api import ZIP, deploy, local_api, update
from tests.fixtures.packages import zip_of

HELLO_PY = """
import six

def handler(event, context):
    return {"six": six.__version__, "who": (event.get("queryStringParameters") or {}).get("who")}
"""
NUMPY_PY = """
import numpy as np

def handler(event, context):
    return {"sum": int(np.arange(10).sum()), "numpy": np.__version__}
"""
LODASH_JS = """
const _ = require('lodash');
exports.handler = async (event) => ({ statusCode: 200, body: _.join(['a', 'b', 'c'], '-') });
"""
EXPRESS_JS = """
const serverless = require('serverless-http');
const express = require('express');
const app = express();
app.get('/hi', (req, res) => res.json({ hi: req.query.name || 'nobody' }));
module.exports.handler = serverless(app);
"""


@pytest.fixture(scope="module")
def local_client(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with local_api(mongo_uri, "t_packages_local", tmp_path_factory.mktemp("packages")) as client:
        yield client


def progress_of(op: dict[str, Any]) -> str:
    return "\n".join(line["message"] for line in op["progress"])


def test_python_package_with_a_pure_python_dependency(local_client: TestClient) -> None:
    files = {"src/functions/hello.py": HELLO_PY, "requirements.txt": "six==1.16.0\n"}
    key, op = deploy(
        local_client,
        zip_of(files),
        name="py-six",
        runtime="python",
        version="3.12",
        handler="src/functions/hello.handler",
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}", params={"who": "me"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"six": "1.16.0", "who": "me"}

    # The preview of a package change lists the files that change.
    changed = {**files, "src/functions/hello.py": HELLO_PY.replace('"who"', '"whom"')}
    preview = local_client.patch(
        "/lambda", content=zip_of(changed), headers=ZIP, params={"key": key, "preview": "true"}
    )
    assert preview.status_code == 200, preview.text
    paths = {f["path"] for f in preview.json()["fields"]}
    assert "files/src/functions/hello.py" in paths
    assert "files/requirements.txt" not in paths

    # A requirement that does not exist: the operation fails with pip's own words, and the
    # previous revision keeps serving.
    broken = {**changed, "requirements.txt": "lambdaclone-no-such-package-x7==0.0.1\n"}
    failed = update(local_client, key, zip_of(broken))
    assert failed["state"] == "failed", failed
    assert failed["error"]["code"] == "dependency_build_failed"
    assert "lambdaclone-no-such-package-x7" in failed["error"]["detail"]["build_output"]
    still = local_client.get(f"/endpoint/{key}", params={"who": "you"})
    assert still.status_code == 200 and still.json() == {"six": "1.16.0", "who": "you"}


def test_python_package_with_a_compiled_wheel(local_client: TestClient) -> None:
    files = {"app.py": NUMPY_PY, "requirements.txt": "numpy==2.1.3\n"}
    key, op = deploy(
        local_client,
        zip_of(files),
        name="py-numpy",
        runtime="python",
        version="3.12",
        handler="app.handler",
        memory_mb="512",
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sum": 45, "numpy": "2.1.3"}


def test_node_package_with_lodash(local_client: TestClient) -> None:
    manifest = {"name": "fn", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}
    files = {"lib/index.js": LODASH_JS, "package.json": json.dumps(manifest)}
    key, op = deploy(
        local_client,
        zip_of(files),
        name="node-lodash",
        runtime="node",
        version="20",
        handler="lib/index.handler",
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}")
    assert (answer.status_code, answer.text) == (200, "a-b-c")


def test_node_package_with_serverless_http_and_express(local_client: TestClient) -> None:
    deps = {"express": "4.21.2", "serverless-http": "3.2.0"}
    manifest = {"name": "web", "version": "1.0.0", "dependencies": deps}
    files = {"app.js": EXPRESS_JS, "package.json": json.dumps(manifest)}
    key, op = deploy(
        local_client, zip_of(files), name="node-express", runtime="node", handler="app.handler"
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}/hi", params={"name": "ann"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"hi": "ann"}
