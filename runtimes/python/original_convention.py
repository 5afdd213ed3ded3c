"""The original convention: a Flask-style `handler()` with no parameters.

The handler reads `flask.request` and returns any Flask response value. Rather than running a
Flask server, one app is created (only when such a handler is loaded, so Lambda-style functions
never pay for importing Flask) and each call runs inside a request context built from the
incoming request; `make_response` turns the return value into a response exactly as Flask would.
"""

from __future__ import annotations

from collections.abc import Callable

from runtimes.python.common import InvokeError, Reply, Request

# Headers the wrapper computes itself; copying the framework's would duplicate or contradict them.
_SKIPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def make_invoker(
    fn: Callable[[], object], import_name: str, path_prefix: str
) -> Callable[[Request], Reply]:
    """Bind a Flask-style handler. `import_name` makes `templates/` resolve in the code dir."""
    # Imported here, not at the top: Lambda-style functions must never pay for Flask.
    from flask import Flask  # noqa: PLC0415
    from werkzeug.exceptions import HTTPException  # noqa: PLC0415

    app = Flask(import_name)
    with app.test_request_context():  # warm Flask's lazy imports before health reports ready
        app.make_response("")

    def invoke(req: Request) -> Reply:
        headers = [(k, v) for k, v in req.headers if k.lower() not in _SKIPPED_HEADERS]
        host = req.header("host") or "localhost"
        with app.test_request_context(
            path=req.path,
            base_url=f"http://{host}{path_prefix}",
            query_string=req.query,
            method=req.method,
            headers=headers,
            data=req.body,
            environ_base={"REMOTE_ADDR": req.source_ip},
        ):
            try:
                rv = fn()
            except HTTPException as exc:  # flask.abort(...) is a response, not a failure
                rv = exc.get_response()
            try:
                response = app.make_response(rv)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise InvokeError("InvalidResponse", str(exc)) from exc
            body = response.get_data()
            kept = tuple(
                (k, v) for k, v in response.headers.items() if k.lower() not in _SKIPPED_HEADERS
            )
            return Reply(response.status_code, kept, body)

    return invoke
