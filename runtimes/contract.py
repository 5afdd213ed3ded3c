"""The process contract every wrapper follows (runtimes/README.md), as constants and one pure
function: what a worker is told through its environment and where it answers its health check.

The local target, the Kubernetes target and the test harness all start wrappers through
`worker_env`, so a worker cannot tell which of them started it. Standard library only: the
Python wrapper imports this module too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HEALTH_PATH = "/__lambdaclone/health"
"""Answered by every wrapper itself (the readiness probe), so never an invocation."""
DEFAULT_HANDLER = "handler.handler"
"""`file.function`: every default code file is `handler.<ext>` exporting `handler`."""
FUNCTION_VERSION = "$LATEST"
"""What `AWS_LAMBDA_FUNCTION_VERSION` and the START lines say: unpublished code, as in Lambda."""
CONVENTIONS = ("auto", "original", "lambda", "kubeless")
"""Every convention some wrapper knows; each runtime's driver says which of them it has."""
BOOTSTRAP_ENV = "LAMBDA_BOOTSTRAP"
RUNTIME_API_PORT_ENV = "LAMBDA_RUNTIME_API_PORT_OFFSET"
"""Sandboxed: the Runtime API listens on 127.0.0.1:<offset + the worker's uid>, the one
loopback port the host's firewall lets that uid use (engine/local/netguard.py)."""
"""The executable a Runtime API worker (runtimes/provided/server.py) runs as the function's
runtime; default `$LAMBDA_CODE_DIR/bootstrap`. A Go `lambda.Start` program's is its binary."""
SOCKET_ENV = "LAMBDA_SOCKET"
"""When set, the wrapper serves HTTP on this Unix socket path instead of `HOST:PORT` (the
local target's sandboxed workers: no TCP port other processes of the machine could reach)."""
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_MS = 3_000
DEFAULT_REGION = "us-east-1"
"""`AWS_REGION` when neither the operator (`aws_region`) nor the function says otherwise."""
ACCOUNT_ID = "000000000000"
"""The account in every ARN a worker shows: there is no AWS account behind a function."""
RUNTIME_API_VERSION = "2018-06-01"
"""The Lambda Runtime API version the `provided` runtime serves (runtimes/provided/)."""
USER_DEFAULTS = ("AWS_REGION", "AWS_DEFAULT_REGION", "TZ")
"""Lambda's variables a function may set itself (validation lets them through)."""
EVENT_FORMATS = ("2.0", "1.0")
"""The Lambda convention's event: API Gateway HTTP API / Function URL payload 2.0 (the
default), or the REST API's payload 1.0 (docs/adr/0049-event-formats-routes-streaming.md)."""
EVENT_FORMAT_ENV = "LAMBDA_EVENT_FORMAT"
ROUTES_ENV = "LAMBDA_ROUTES"
"""A JSON array of route templates (`GET /items/{id}`, `ANY /files/{proxy+}`, `$default`)."""
DEFAULT_ROUTE = "$default"
ROUTE_METHODS = ("ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_ROUTES = 100
ROUTE_MAX_CHARS = 512
_ROUTE_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")
_ROUTE_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()*,;=:@%-]+")


@dataclass(frozen=True)
class Route:
    """One route template: `key` is what events show (`routeKey`); `segments` are literals,
    `{name}` (one segment) or `{name+}` (the rest of the path, last only)."""

    key: str
    method: str
    """`ANY`, an HTTP method, or "" for `$default` (which matches everything)."""
    path: str
    segments: tuple[str, ...] = ()


def parse_route(text: object) -> Route:
    """The route a template names, or `ValueError` saying why it is not one (the API's
    `invalid_route`). The grammar is API Gateway HTTP API's, whole-segment variables only."""
    if not isinstance(text, str) or not text or len(text) > ROUTE_MAX_CHARS:
        raise ValueError(f"a route is a string of 1 to {ROUTE_MAX_CHARS} characters")
    if text == DEFAULT_ROUTE:
        return Route(DEFAULT_ROUTE, "", "")
    method, _, path = text.partition(" ")
    if method not in ROUTE_METHODS:
        raise ValueError(f"a route starts with one of {', '.join(ROUTE_METHODS)} (or is $default)")
    if not path.startswith("/"):
        raise ValueError("a route's path starts with '/' (`GET /items/{id}`)")
    segments = tuple(path[1:].split("/")) if path != "/" else ()
    names: set[str] = set()
    for index, segment in enumerate(segments):
        variable = _ROUTE_VARIABLE.fullmatch(segment)
        if variable is None:
            if not _ROUTE_LITERAL.fullmatch(segment):
                why = "is empty or holds a character a path cannot"
                raise ValueError(f"path segment {segment!r} {why}")
            continue
        name, greedy = variable.groups()
        if greedy and index != len(segments) - 1:
            raise ValueError(f"{{{name}+}} must be the path's last segment")
        if name in names:
            raise ValueError(f"path variable {name!r} appears twice")
        names.add(name)
    return Route(text, method, path, segments)


def parse_routes(items: Sequence[object]) -> tuple[Route, ...]:
    """An ordered route list (the first match wins), or `ValueError`."""
    if len(items) > MAX_ROUTES:
        raise ValueError(f"at most {MAX_ROUTES} routes")
    routes = tuple(parse_route(item) for item in items)
    keys = [route.key for route in routes]
    twice = next((key for key in keys if keys.count(key) > 1), None)
    if twice is not None:
        raise ValueError(f"route {twice!r} is given twice")
    return routes


def event_env(event_format: str = EVENT_FORMATS[0], routes: Sequence[str] = ()) -> dict[str, str]:
    """The event options a Lambda-convention worker reads; only those that differ from the
    defaults, so existing functions' environments (and Deployments) stay as they were."""
    if event_format not in EVENT_FORMATS:
        raise ValueError(f"event_format must be one of {EVENT_FORMATS}")
    env: dict[str, str] = {}
    if event_format != EVENT_FORMATS[0]:
        env[EVENT_FORMAT_ENV] = event_format
    if routes:
        env[ROUTES_ENV] = json.dumps(list(routes), separators=(",", ":"))
    return env


def function_arn(region: str, function_name: str) -> str:
    """What `invoked_function_arn` says: Lambda's form, in the placeholder account."""
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def log_stream_name(function_key: str, version: str = FUNCTION_VERSION) -> str:
    """One stream per function (a worker's log is the function's): `[$LATEST]<key>`, in the
    shape of Lambda's `YYYY/MM/DD/[version]<id>` without the date, which would change daily."""
    return f"[{version}]{function_key}"


def split_handler(handler: str) -> tuple[str, str]:
    """`file.function` → (`file`, `function`); the file part may hold dots of its own."""
    file, _, function = handler.rpartition(".")
    if not file or not function:
        raise ValueError(f"handler {handler!r} must look like file.function")
    return file, function


def worker_env(
    *,
    port: int,
    code_dir: Path,
    handler: str,
    function_name: str,
    function_key: str,
    memory_mb: int,
    timeout_ms: int,
    host: str = "127.0.0.1",
    path_prefix: str = "",
    convention: str = "auto",
    version: str = FUNCTION_VERSION,
    user_env: Mapping[str, str] | None = None,
    pycache_dir: Path | None = None,
    socket_path: str | None = None,
    region: str = DEFAULT_REGION,
    execution_env: str = "",
    runtime_dir: Path | None = None,
    bootstrap: Path | None = None,
    runtime_api_port_offset: int | None = None,
    event_format: str = EVENT_FORMATS[0],
    routes: Sequence[str] = (),
) -> dict[str, str]:
    """The wrapper's environment variables; overlay them on a base env (PATH, HOME, ...).

    `user_env` (the function's own variables) comes first so it cannot override ours.
    `pycache_dir` turns bytecode caching back on (into that directory) for a Python worker
    started from an environment with PYTHONDONTWRITEBYTECODE set: without it every cold start
    recompiles Flask from source (~300 ms instead of ~120 ms). `socket_path` makes the worker
    listen on that Unix socket (`LAMBDA_SOCKET`); `PORT` and `HOST` are then not set.
    `bootstrap` is what a Runtime API worker runs (`LAMBDA_BOOTSTRAP`, see
    `RuntimeDriver.runtime_api_bootstrap`). `event_format` and `routes` are the Lambda
    convention's event options (`event_env`).

    Lambda's own variables (`lambda_env`) are set too; `region` (the operator's `aws_region`)
    and `TZ` are defaults the function's variables may override, as in Lambda.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    env = dict(user_env or {})
    if socket_path is not None:
        env[SOCKET_ENV] = socket_path
    else:
        env.pop(SOCKET_ENV, None)
        env.update(PORT=str(port), HOST=host)
    env.update(
        LAMBDA_CODE_DIR=str(code_dir),
        LAMBDA_HANDLER=handler,
        LAMBDA_FUNCTION_NAME=function_name,
        LAMBDA_FUNCTION_KEY=function_key,
        LAMBDA_FUNCTION_VERSION=version,
        LAMBDA_MEMORY_MB=str(memory_mb),
        LAMBDA_TIMEOUT_MS=str(timeout_ms),
        LAMBDA_PATH_PREFIX=path_prefix,
        LAMBDA_CONVENTION=convention,
    )
    env.update(event_env(event_format, routes))
    lambda_vars = lambda_env(
        code_dir=code_dir,
        handler=handler,
        function_name=function_name,
        function_key=function_key,
        memory_mb=memory_mb,
        version=version,
        region=region,
        execution_env=execution_env,
        runtime_dir=runtime_dir,
    )
    for name, value in lambda_vars.items():
        if name in USER_DEFAULTS and name in env:
            continue
        env[name] = value
    if bootstrap is not None:
        env[BOOTSTRAP_ENV] = str(bootstrap)
    if runtime_api_port_offset is not None:
        env[RUNTIME_API_PORT_ENV] = str(runtime_api_port_offset)
    if pycache_dir is not None:
        env.update(bytecode_env(pycache_dir))
    return env


def lambda_env(
    *,
    code_dir: Path,
    handler: str,
    function_name: str,
    function_key: str,
    memory_mb: int,
    version: str,
    region: str,
    execution_env: str,
    runtime_dir: Path | None,
) -> dict[str, str]:
    """The variables AWS Lambda gives every function (docs/runtimes.md lists them), so code
    and SDKs reading them (boto3's region, powertools' function name) run unchanged."""
    env = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(function_name),
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(function_key, version),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": handler,
        "TZ": ":UTC",
    }
    if execution_env:
        env["AWS_EXECUTION_ENV"] = execution_env
    if runtime_dir is not None:
        env["LAMBDA_RUNTIME_DIR"] = str(runtime_dir)
    return env


def bytecode_env(pycache_dir: Path) -> dict[str, str]:
    """Bytecode caching into `pycache_dir`, whatever the inherited environment says."""
    return {"PYTHONPYCACHEPREFIX": str(pycache_dir), "PYTHONDONTWRITEBYTECODE": ""}
