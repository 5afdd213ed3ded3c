"""`lambdaclone`: run the control plane (`serve`) or talk to a running one over HTTP.

The client commands are thin: each is one request to the public API, printing its JSON answer
(or a table, for Kubeless's `function ls`); exit status 1 with the error's code and message on
stderr when the API refuses, 2 when it cannot be reached. They authenticate with `--token`,
`$LAMBDACLONE_TOKEN`, or the admin token the server wrote to `<data dir>/admin.token` — so
`make run` then `lambdaclone list` just works for the person who started it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import httpx

from api.cli import functions, kubeless, layers, reference, tokens
from api.cli.client import URL_ENV, Api, default_token
from engine.settings import Settings

SHUTDOWN_GRACE_S = 5


def main(argv: Sequence[str] | None = None, *, client: httpx.Client | None = None) -> int:
    """Entry point; `client` replaces the HTTP client (tests pass the app's test client)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "settings":
        return reference.print_reference()
    http = client or httpx.Client(base_url=args.url, timeout=args.timeout)
    api = Api(http, args.token or default_token())
    try:
        return int(args.run(api, args))
    except httpx.TransportError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambdaclone", description=__doc__)
    default_url = os.environ.get(URL_ENV) or Settings().endpoint_base
    parser.add_argument("--url", default=default_url, help=f"API base URL (${URL_ENV})")
    parser.add_argument("--token", help="API token (default: $LAMBDACLONE_TOKEN, admin.token)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API server (Ctrl-C stops it)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    functions.add_commands(commands)
    tokens.add_commands(commands)
    layers.add_commands(commands)
    kubeless.add_commands(commands)
    reference.add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """uvicorn runs the lifespan and handles SIGINT/SIGTERM: in-flight operations get a grace
    period, the rest are resumed by the next start. api/serving.py bounds request heads."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from api.app import create_app  # noqa: PLC0415 - client commands need no app
    from api.serving import server_options  # noqa: PLC0415

    given = {name: value for name, value in (("host", args.host), ("port", args.port)) if value}
    settings = Settings(**given)  # the flags win over the environment, for the data plane too
    uvicorn.run(
        create_app(settings),
        **server_options(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # Open event streams (GET /lambda/operations/{id}/events) never end on their own
        # before their operation does; don't let them hold up Ctrl-C or a pod's SIGTERM.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return 0
