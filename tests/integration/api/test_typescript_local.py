"""TypeScript node packages through the real API on the local target and FerretDB: compiled by
the pinned esbuild at deploy time (types, a second .ts module, an npm dependency without its
types), stack traces on the .ts lines, both module types, and a compile error that fails the
operation with esbuild's words while the previous revision keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.local_api import ZIP, deploy, local_api, update
from tests.fixtures.packages import zip_of

INDEX_TS = """import _ from 'lodash';
import { greet, type Greeting } from './greet';

interface HttpEvent {
  queryStringParameters?: Record<string, string>;
}

export const handler = async (event: HttpEvent): Promise<{ statusCode: number; body: string }> => {
  const who: string = event.queryStringParameters?.who ?? 'world';
  const greeting: Greeting = greet(who);
  const where = new Error('here').stack?.split('\\n')[1]?.trim() ?? '';
  const joined = _.join(['a', 'b'], '-');
  return { statusCode: 200, body: JSON.stringify({ ...greeting, joined, where }) };
};
"""
GREET_TS = """export interface Greeting {
  hello: string;
  letters: number;
}

export function greet(who: string): Greeting {
  return { hello: who, letters: who.length };
}
"""
BROKEN_TS = """export const handler = async (): Promise<number> => {
  return 1 +;
};
"""
EXPRESS_TS = """type Req = { query: Record<string, string> };
type Res = { status(code: number): { json(body: unknown): void } };

export default function handler(req: Req, res: Res): void {
  res.status(200).json({ module: typeof __filename === 'undefined' ? 'esm' : 'cjs', q: req.query });
}
"""
MANIFEST = {"name": "ts-fn", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}
FILES = {
    "src/index.ts": INDEX_TS,
    "src/greet.ts": GREET_TS,
    "package.json": json.dumps(MANIFEST),
    "tsconfig.json": json.dumps({"compilerOptions": {"strict": True, "target": "ES2022"}}),
}


@pytest.fixture(scope="module")
def local_client(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with local_api(
        mongo_uri, "t_typescript_local", tmp_path_factory.mktemp("typescript")
    ) as client:
        yield client


def test_a_typescript_package_is_compiled_and_serves(local_client: TestClient) -> None:
    key, op = deploy(
        local_client,
        zip_of(FILES),
        name="ts-lodash",
        runtime="node",
        version="20",
        handler="src/index.handler",
    )
    assert op["state"] == "succeeded", op
    progress = "\n".join(line["message"] for line in op["progress"])
    assert "compiling with esbuild src/index.ts --bundle" in progress
    answer = local_client.get(f"/endpoint/{key}", params={"who": "ann"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: body[k] for k in ("hello", "letters", "joined")} == {
        "hello": "ann",
        "letters": 3,
        "joined": "a-b",
    }
    # The stack trace names the TypeScript source's line, not the bundle's.
    line = INDEX_TS.splitlines().index(next(x for x in INDEX_TS.splitlines() if "'here'" in x))
    assert f"index.ts:{line + 1}:" in body["where"], body["where"]

    # A compile error: the operation fails with esbuild's message; the old revision serves on.
    failed = update(local_client, key, zip_of({**FILES, "src/index.ts": BROKEN_TS}))
    assert failed["state"] == "failed", failed
    output = failed["error"]["detail"]["build_output"]
    assert "[ERROR]" in output and "src/index.ts:2:" in output, output
    assert "esbuild exited with" in failed["error"]["message"]
    still = local_client.get(f"/endpoint/{key}", params={"who": "bo"})
    assert still.status_code == 200, still.text
    assert still.json()["hello"] == "bo"


def test_an_esm_package_serves_an_express_style_default_export(local_client: TestClient) -> None:
    files = {"app.ts": EXPRESS_TS, "package.json": json.dumps({"name": "e", "type": "module"})}
    key, op = deploy(
        local_client, zip_of(files), name="ts-esm", runtime="node", handler="app.handler"
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}", params={"x": "1"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"module": "esm", "q": {"x": "1"}}


def test_a_commonjs_build_serves_an_express_style_default_export(local_client: TestClient) -> None:
    key, op = deploy(
        local_client,
        zip_of({"app.ts": EXPRESS_TS}),
        name="ts-cjs",
        runtime="node",
        handler="app.handler",
    )
    assert op["state"] == "succeeded", op
    answer = local_client.get(f"/endpoint/{key}", params={"y": "2"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"module": "cjs", "q": {"y": "2"}}


def test_a_package_without_the_handlers_source_is_refused(local_client: TestClient) -> None:
    archive = zip_of({"src/other.ts": GREET_TS})
    response = local_client.post(
        "/lambda",
        content=archive,
        headers=ZIP,
        params={"name": "ts-none", "runtime": "node", "handler": "src/index.handler"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "package_no_handler"
