"""lambdaclone's Runtime API worker: serve one function whose runtime is its own program.

The HTTP side is the Python wrapper's (`runtimes/python/wrapper.py`: same socket or port,
health, START/END/REPORT lines, Function URL errors), and so is the event a request becomes
(`lambda_convention.build_event`) and the way a result becomes a response (`to_reply`). In
between, the event is handed over the Lambda Runtime API (`runtime_api.py`) to the function's
`bootstrap` — any executable: a shell script, a Go `lambda.Start` program, a Rust
`lambda_runtime` binary, a runtime interface client — started here with
`AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`. Run as `python -I runtimes/provided/server.py`,
configured by the environment like every wrapper (`LAMBDA_BOOTSTRAP` names the executable;
default `$LAMBDA_CODE_DIR/bootstrap`).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

_ROOT = str(Path(__file__).resolve().parent.parent.parent)
sys.path.insert(0, _ROOT)
from runtimes.contract import BOOTSTRAP_ENV, function_arn  # noqa: E402
from runtimes.provided import bootstrap  # noqa: E402
from runtimes.provided.broker import Broker, Invocation, epoch_ms  # noqa: E402
from runtimes.provided.runtime_api import RuntimeApiServer, parse_error, trace_id  # noqa: E402
from runtimes.python import wrapper  # noqa: E402
from runtimes.python.common import Bound, InvokeError, Request, new_request_id  # noqa: E402
from runtimes.python.gateway import EventOptions  # noqa: E402
from runtimes.python.lambda_convention import lambda_invoker  # noqa: E402

sys.path.remove(_ROOT)

INIT_TIMEOUT_S = 10.0
"""Lambda's limit on the init phase: the bootstrap must ask for an invocation by then."""


class ProvidedServer(wrapper.WrapperServer):
    """The wrapper's HTTP server whose invoker hands events to the bootstrap."""

    def __init__(self, config: wrapper.Config, bootstrap_path: Path) -> None:
        super().__init__(config)
        self.bootstrap_path = bootstrap_path
        self.broker = Broker()
        arn = function_arn(config.info.region, config.info.name)
        self.api = RuntimeApiServer(self.broker, arn, self._init_error)
        self.supervisor: bootstrap.Supervisor | None = None
        self._failed_lock = threading.Lock()

    def load(self) -> None:
        threading.Thread(target=self.api.serve_forever, daemon=True).start()
        try:
            options = EventOptions.from_env()
        except InvokeError as exc:
            self._not_loaded(exc.message)
            return
        self.bound = Bound("lambda", lambda_invoker(self._call, self.config.info, options))
        env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": self.api.address}
        try:
            argv = bootstrap.command(self.bootstrap_path)
            cwd = self.config.code_dir or "."
            self.supervisor = bootstrap.Supervisor(argv, env, cwd, self._exited)
            self.supervisor.start()
        except bootstrap.BootstrapError as exc:
            self._not_loaded(str(exc))

    def wait_loaded(self) -> None:
        if not self.broker.ready.wait(INIT_TIMEOUT_S):
            self._not_loaded(
                f"Runtime.InitTimeout: the bootstrap did not ask for an invocation within "
                f"{INIT_TIMEOUT_S:.0f} s"
            )

    def stop_bootstrap(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()

    def _not_loaded(self, message: str) -> None:
        with self._failed_lock:
            if self.load_failure is not None:
                return
            self.bound = None
            self.failed_to_load(InvokeError("HandlerLoadError", message))
        self.broker.ready.set()
        self.broker.fail_all("Runtime.InitError", message)
        self.stop_bootstrap()

    def _init_error(self, error_type: str, message: str) -> None:
        """`/runtime/init/error`: the function cannot start; Lambda stops its runtime."""
        self._not_loaded(f"{error_type}: {message}")

    def _exited(self, status: int) -> None:
        if not self.broker.ready.is_set():
            self._not_loaded(
                f"Runtime.ExitError: the bootstrap exited with status {status} before asking "
                "for an invocation"
            )
            return
        message = f"the bootstrap exited with status {status}"
        self.broker.fail_all("Runtime.ExitError", message, taken_only=True)
        wrapper.emit("err", f"the bootstrap exited with status {status}; starting it again")
        if self.supervisor is not None:
            self.supervisor.start()

    def _call(self, payload: dict[str, Any], req: Request) -> object:
        """Hand one event (built by `lambda_invoker`) to the bootstrap; its result."""
        info = self.config.info
        event = json.dumps(payload).encode()
        request_id = req.request_id
        if self.broker.is_pending(request_id):  # a caller reused an id still in flight
            request_id = new_request_id()
        now = epoch_ms()
        invocation = Invocation(request_id, event, now + info.timeout_ms, trace_id(now // 1000))
        timeout_s = info.timeout_ms / 1000
        handed = self.broker.dispatch(invocation, timeout_s)
        left = timeout_s - (epoch_ms() - now) / 1000
        if not handed or not invocation.done.wait(max(0.0, left)):
            self.broker.forget(invocation)
            if invocation.outcome is None:
                if invocation.taken and self.supervisor is not None:
                    self.broker.drop_waiters()
                    self.supervisor.restart()  # as Lambda, a timeout resets the runtime
                seconds = info.timeout_ms / 1000
                raise InvokeError("Sandbox.Timedout", f"Task timed out after {seconds:.2f} seconds")
        return _reply(invocation)


def _reply(invocation: Invocation) -> object:
    outcome = invocation.outcome
    assert outcome is not None
    if outcome.kind == "error":
        raise InvokeError(*parse_error(outcome.body, outcome.error_type))
    try:
        result = json.loads(outcome.body) if outcome.body.strip() else None
    except ValueError as exc:
        raise InvokeError("InvalidResponse", f"the response is not JSON: {exc}") from exc
    return result


def main() -> None:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    config = wrapper.read_config()
    path = os.environ.get(BOOTSTRAP_ENV) or str(Path(config.code_dir or ".") / "bootstrap")
    server = ProvidedServer(config, Path(path))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.load()
    try:
        server.serve_forever(poll_interval=3600)
    finally:
        server.stop_bootstrap()


if __name__ == "__main__":
    main()
