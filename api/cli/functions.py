"""`lambdaclone list | get | create | update | delete | invoke`: one request each."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx

from api.cli.client import Api, pairs, print_answer
from api.cli.packages import package_of, send_function


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("list", help="list functions").set_defaults(run=list_functions)
    get = commands.add_parser("get", help="show one function")
    get.add_argument("key")
    get.set_defaults(run=get_function)

    create = commands.add_parser("create", help="create a function from a file")
    create.add_argument("name")
    create.add_argument("file", type=Path, help="a source file or a .zip package")
    function_options(create)
    create.set_defaults(run=create_function)

    update = commands.add_parser("update", help="change a function")
    update.add_argument("key")
    update.add_argument("--file", type=Path, help="a source file or a .zip package")
    update.add_argument("--name")
    update.add_argument("--preview", action="store_true", help="only show what would change")
    function_options(update)
    update.set_defaults(run=update_function)

    delete = commands.add_parser("delete", help="delete a function")
    delete.add_argument("key")
    delete.add_argument("--wait", action="store_true")
    delete.set_defaults(run=delete_function)

    invoke = commands.add_parser("invoke", help="call a function's endpoint")
    invoke.add_argument("key")
    invoke.add_argument("--query", action="append", default=[], metavar="NAME=VALUE")
    invoke.add_argument("--data", help="request body (sends a POST)")
    invoke.set_defaults(run=invoke_function)


def function_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime")
    parser.add_argument("--version")
    parser.add_argument("--handler")
    parser.add_argument("--title", help="free text shown for the function")
    parser.add_argument("--convention", help="auto, original, lambda or kubeless")
    parser.add_argument("--auth", choices=("none", "token"), help="who may invoke it")
    parser.add_argument("--event-format", choices=("2.0", "1.0"), help="the Lambda event")
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="TEMPLATE",
        help="a route template, in order ('GET /items/{id}', 'ANY /{proxy+}', '$default')",
    )
    parser.add_argument(
        "--layer",
        action="append",
        default=None,
        metavar="NAME:VERSION",
        help="a layer version, in order (`lambdaclone layer list`); `--layer ''` detaches all",
    )
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a secret environment variable (write-only: never shown again)",
    )
    parser.add_argument(
        "--dependencies",
        type=Path,
        metavar="MANIFEST",
        help="requirements.txt, package.json or go.mod (with its lock file beside it): sent "
        "with the file as a package, installed at deploy time",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the operation")


def fields(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, and the code read from the file when it is
    sent as text (not as a package)."""
    names = ("name", "runtime", "version", "handler", "title", "convention", "auth", "event_format")
    body: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None)}
    if getattr(args, "route", None):
        body["routes"] = args.route
    if args.layer is not None:
        body["layers"] = [ref for ref in args.layer if ref]
    if args.env:
        body["env"] = pairs(args.env)
    if args.secret:
        body["secrets"] = pairs(args.secret)
    if getattr(args, "file", None) is not None and package(args) is None:
        body["file"] = args.file.read_text(encoding="utf-8")
    return body


def package(args: argparse.Namespace) -> bytes | None:
    return package_of(getattr(args, "file", None), args.dependencies)


def waiting(args: argparse.Namespace) -> dict[str, str]:
    return {"wait": "true"} if getattr(args, "wait", False) else {}


def list_functions(api: Api, args: argparse.Namespace) -> int:
    return print_answer(api.request("GET", "/lambda/list", params={"limit": 100}))


def get_function(api: Api, args: argparse.Namespace) -> int:
    return print_answer(api.request("GET", "/lambda", params={"key": args.key, "code": "false"}))


def create_function(api: Api, args: argparse.Namespace) -> int:
    answer = send_function(api, "POST", fields(args), package(args), waiting(args))
    return print_answer(answer)


def update_function(api: Api, args: argparse.Namespace) -> int:
    params = {"preview": "true"} if args.preview else waiting(args)
    body = {"key": args.key, **fields(args)}
    return print_answer(send_function(api, "PATCH", body, package(args), params))


def delete_function(api: Api, args: argparse.Namespace) -> int:
    params = {"key": args.key, **waiting(args)}
    return print_answer(api.request("DELETE", "/lambda", params=params))


def invoke_function(api: Api, args: argparse.Namespace) -> int:
    query = httpx.QueryParams(list(pairs(args.query).items()))
    path = f"/endpoint/{args.key}"
    if args.data is not None:
        return print_answer(api.request("POST", path, params=query, content=args.data.encode()))
    return print_answer(api.request("GET", path, params=query))
