"""`lambdaclone`: run the control plane (`serve`) or talk to a running one over HTTP.

The client commands are thin: each is one request to the public API, printing the JSON answer
(exit status 1 with the error's code and message on stderr when the API refuses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from engine.settings import Settings

URL_ENV = "LAMBDACLONE_URL"
SHUTDOWN_GRACE_S = 5


def main(argv: Sequence[str] | None = None, *, client: httpx.Client | None = None) -> int:
    """Entry point; `client` replaces the HTTP client (tests pass the app's test client)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    http = client or httpx.Client(base_url=args.url, timeout=args.timeout)
    try:
        response = _request(http, args)
    except httpx.TransportError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    return _print(response)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambdaclone", description=__doc__)
    default_url = os.environ.get(URL_ENV) or Settings().endpoint_base
    parser.add_argument("--url", default=default_url, help=f"API base URL (${URL_ENV})")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server (Ctrl-C stops it)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    commands.add_parser("list", help="list functions")
    get = commands.add_parser("get", help="show one function")
    get.add_argument("key")

    create = commands.add_parser("create", help="create a function from a file")
    create.add_argument("name")
    create.add_argument("file", type=Path)
    _function_options(create)

    update = commands.add_parser("update", help="change a function")
    update.add_argument("key")
    update.add_argument("--file", type=Path)
    update.add_argument("--name")
    update.add_argument("--preview", action="store_true", help="only show what would change")
    _function_options(update)

    delete = commands.add_parser("delete", help="delete a function")
    delete.add_argument("key")
    delete.add_argument("--wait", action="store_true")

    invoke = commands.add_parser("invoke", help="call a function's endpoint")
    invoke.add_argument("key")
    invoke.add_argument("--query", action="append", default=[], metavar="NAME=VALUE")
    invoke.add_argument("--data", help="request body (sends a POST)")
    return parser


def _function_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime")
    parser.add_argument("--version")
    parser.add_argument("--handler")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--wait", action="store_true", help="wait for the operation")


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("name", "runtime", "version", "handler")
        if getattr(args, name, None) is not None
    }
    if args.env:
        fields["env"] = dict(_pair(item) for item in args.env)
    if getattr(args, "file", None) is not None:
        fields["file"] = args.file.read_text(encoding="utf-8")
    return fields


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"expected NAME=VALUE, got {item!r}")
    return name, value


def _request(http: httpx.Client, args: argparse.Namespace) -> httpx.Response:
    wait = {"wait": "true"} if getattr(args, "wait", False) else {}
    match args.command:
        case "list":
            return http.get("/lambda/list", params={"limit": 100})
        case "get":
            return http.get("/lambda", params={"key": args.key, "code": "false"})
        case "create":
            return http.post("/lambda", json=_fields(args), params=wait)
        case "update":
            params = {"preview": "true"} if args.preview else wait
            return http.patch("/lambda", json={"key": args.key, **_fields(args)}, params=params)
        case "delete":
            return http.delete("/lambda", params={"key": args.key, **wait})
        case _:
            return _invoke(http, args)


def _invoke(http: httpx.Client, args: argparse.Namespace) -> httpx.Response:
    query = httpx.QueryParams([_pair(item) for item in args.query])
    path = f"/endpoint/{args.key}"
    if args.data is not None:
        return http.post(path, params=query, content=args.data.encode())
    return http.get(path, params=query)


def _print(response: httpx.Response) -> int:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.is_error:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code", f"http_{response.status_code}")
        print(f"error {response.status_code} {code}: {error.get('message', body)}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2) if not isinstance(body, str) else body)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """uvicorn runs the lifespan and handles SIGINT/SIGTERM: in-flight operations get a grace
    period, the rest are resumed by the next start."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from api.app import create_app  # noqa: PLC0415 - client commands need no app

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
        # X-Forwarded-For is believed only from the proxies named in the settings (the ALB
        # in a cluster); otherwise a local client could choose the sourceIp functions see.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # Open event streams (GET /lambda/operations/{id}/events) never end on their own
        # before their operation does; don't let them hold up Ctrl-C or a pod's SIGTERM.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
