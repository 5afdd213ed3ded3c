"""The Go wrapper compiled with real handlers: responses, panics and build failures.

Also runs the container entrypoint script (runtimes/golang/entrypoint.sh) outside a container,
since it is plain sh + go. The default code is tested with the other runtimes' in
test_wrapper_contract.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runtimes.golang.driver import HERE, WRAPPER, binary
from tests.fixtures.wrapper_harness import (
    Serve,
    Worker,
    assert_invocation_logged,
    assert_load_failure,
    build_go,
    default_code,
    go_cache,
    start_worker,
)

HEADER = 'package main\n\nimport (\n\t"net/http"\n\t"net/url"\n)\n\n'
SEED_STYLE = """
package main

import (
	"encoding/json"
	"net/http"
	"net/url"
)

func handler(params url.Values, w *http.ResponseWriter) {
	json, _ := json.Marshal(map[string]any{"message": "hi", "params": params})
	(*w).Write(json)
	(*w).WriteHeader(200)
}
"""


def go_handler(body: str, name: str = "handler") -> str:
    """A handler.go whose function body is `body` (params and w are in scope)."""
    signature = f"func {name}(params url.Values, w *http.ResponseWriter) {{\n"
    return HEADER + signature + body + "\n}\n"


def test_write_before_write_header_is_200_json(serve: Serve) -> None:
    worker = serve("golang", {"handler.go": SEED_STYLE})
    reply = worker.get("/?q=1")
    assert (reply.status, reply.header("content-type")) == (200, "application/json")
    assert reply.json() == {"message": "hi", "params": {"q": ["1"]}}
    assert "superfluous" not in worker.stderr()


def test_status_headers_and_text_body(serve: Serve) -> None:
    body = (
        '(*w).Header().Set("X-Custom", "yes")\n(*w).WriteHeader(201)\n(*w).Write([]byte("plain"))'
    )
    reply = serve("golang", {"handler.go": go_handler(body)}).get("/")
    assert (reply.status, reply.header("x-custom"), reply.body) == (201, "yes", b"plain")
    assert (reply.header("content-type") or "").startswith("text/plain")


def test_empty_handler_is_200(serve: Serve) -> None:
    reply = serve("golang", {"handler.go": go_handler("_ = params")}).get("/")
    assert (reply.status, reply.body) == (200, b"")


def test_form_body_and_prefix(serve: Serve) -> None:
    body = '(*w).Write([]byte(`{"a":"` + params.Get("a") + `","b":"` + params.Get("b") + `"}`))'
    worker = serve("golang", {"handler.go": go_handler(body)}, prefix="/endpoint/k3y")
    reply = worker.request(
        "POST",
        "/endpoint/k3y/x?a=1",
        body="b=2",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.json() == {"a": "1", "b": "2"}
    assert worker.get("/endpoint/k3y/__lambdaclone/health").status == 200


def test_custom_function_name(serve: Serve) -> None:
    code = go_handler('(*w).Write([]byte(`"main"`))', name="serve")
    assert serve("golang", {"handler.go": code}, handler="handler.serve").get("/").json() == "main"


@pytest.mark.parametrize(
    ("statement", "error_type", "message"),
    [
        ('panic("boom")', "Panic", "boom"),
        ('var m map[string]int\nm["x"] = 1', "plainError", "assignment to entry in nil map"),
    ],
)
def test_panic_is_a_500(serve: Serve, statement: str, error_type: str, message: str) -> None:
    worker = serve("golang", {"handler.go": go_handler(statement)})
    reply = worker.get("/", headers={"x-request-id": "boom"})
    assert reply.status == 500
    body = reply.json()
    assert body["errorType"] == error_type and message in body["errorMessage"]
    assert any("handler.go" in line for line in body["stackTrace"])
    assert "[ERROR] RequestId: boom" in worker.wait_output("boom", "stderr")
    assert_invocation_logged(worker, "boom")
    assert worker.get("/__lambdaclone/health").status == 200


def start_load_error_server(tmp_path: Path, message: str) -> Worker:
    """What the local target does when the code does not compile."""
    built = build_go(None, tmp_path / "loaderror", "handler.handler")
    assert built.returncode == 0, built.stderr
    command = [str(binary(tmp_path / "loaderror"))]
    worker = start_worker(
        "golang",
        tmp_path,
        tmp_path / "run",
        command=command,
        extra_env={"LAMBDA_LOAD_ERROR": message},
    )
    worker.wait_healthy()
    return worker


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("package main\n\nfunc handler( {\n", "syntax error"),
        ("package main\n\nfunc handler() {}\n", "cannot use handler"),
        ("package main\n", "undefined: handler"),
    ],
)
def test_build_failure_is_served_as_handler_load_error(
    tmp_path: Path, code: str, expected: str
) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "handler.go").write_text(code)
    built = build_go(code_dir, tmp_path / "build", "handler.handler")
    assert built.returncode != 0 and expected in built.stderr
    worker = start_load_error_server(tmp_path, built.stderr)
    try:
        assert_load_failure(worker, expected)
    finally:
        worker.stop()


def run_entrypoint(tmp_path: Path, code: str) -> Worker:
    """Run the image's entrypoint.sh with a lib dir laid out like /opt/lambdaclone."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(WRAPPER, lib / "main.go")
    built = build_go(None, tmp_path / "stub", "handler.handler")
    assert built.returncode == 0, built.stderr
    shutil.copyfile(binary(tmp_path / "stub"), lib / "loaderror")
    (lib / "loaderror").chmod(0o755)
    code_dir = tmp_path / "task"
    code_dir.mkdir()
    (code_dir / "handler.go").write_text(code)
    script = HERE / "entrypoint.sh"
    env = {
        "LAMBDA_RUNTIME_LIB": str(lib),
        "LAMBDA_BUILD_DIR": str(tmp_path / "build"),
        "GOCACHE": str(go_cache()),
        "PATH": os.environ["PATH"],
    }
    worker = start_worker(
        "golang", code_dir, tmp_path / "run", command=["sh", str(script)], extra_env=env
    )
    worker.wait_healthy(timeout=60)
    return worker


def test_container_entrypoint_builds_and_serves(tmp_path: Path) -> None:
    worker = run_entrypoint(tmp_path, default_code("golang"))
    try:
        assert worker.get("/__lambdaclone/health").status == 200
        assert worker.get("/?a=1").json()["params"] == {"a": ["1"]}
    finally:
        worker.stop()


def test_container_entrypoint_reports_build_errors(tmp_path: Path) -> None:
    worker = run_entrypoint(tmp_path, "package main\n\nfunc handler() {}\n")
    try:
        health = worker.get("/__lambdaclone/health")
        assert health.status == 500
        assert "cannot use handler" in health.json()["errorMessage"]
    finally:
        worker.stop()
