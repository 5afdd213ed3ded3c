"""`lambdaclone function deploy | update | ls | call | logs | delete`: Kubeless's words for the
same requests, so its users' scripts keep working. Functions are named, not keyed: NAME is a
function's name (or its key); Kubeless's runtime spellings (`python3.12`, `nodejs20`, `go1.22`)
are matched against the catalog."""

from __future__ import annotations

import argparse
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.cli.client import Api, pairs, print_answer, print_table
from api.cli.packages import package_of, send_function

KUBELESS_RUNTIME = re.compile(r"([a-z]+):?(\d[\w.]*)")
EVENT_NAMESPACE = "cli.kubeless.io"
"""What Kubeless's own CLI names itself as, so handlers that look at it see the same."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    function = commands.add_parser("function", help="Kubeless-style function commands")
    verbs = function.add_subparsers(dest="verb", required=True)
    for verb, run in (("deploy", deploy), ("update", update)):
        parser = verbs.add_parser(verb, help=f"{verb} a function from a file")
        parser.add_argument("name")
        parser.add_argument("--runtime", required=verb == "deploy", help="e.g. python3.12")
        parser.add_argument("--from-file", type=Path, required=verb == "deploy")
        parser.add_argument("--handler", help="file.function")
        parser.add_argument(
            "--dependencies", type=Path, help="requirements.txt, package.json or go.mod"
        )
        parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
        parser.set_defaults(run=run)
    verbs.add_parser("ls", help="functions, as a table").set_defaults(run=ls)
    call = verbs.add_parser("call", help="invoke a function")
    call.add_argument("name")
    call.add_argument("--data", help="request body (JSON is sent as application/json)")
    call.set_defaults(run=call_function)
    logs = verbs.add_parser("logs", help="a function's recent log lines")
    logs.add_argument("name")
    logs.set_defaults(run=show_logs)
    delete = verbs.add_parser("delete", help="delete a function")
    delete.add_argument("name")
    delete.set_defaults(run=delete_function)


def deploy(api: Api, args: argparse.Namespace) -> int:
    body = {"name": args.name, **_settings(api, args)}
    archive = package_of(args.from_file, args.dependencies)
    return print_answer(send_function(api, "POST", body, archive, {"wait": "true"}))


def update(api: Api, args: argparse.Namespace) -> int:
    body = {"key": _key_of(api, args.name), **_settings(api, args)}
    archive = package_of(args.from_file, args.dependencies)
    return print_answer(send_function(api, "PATCH", body, archive, {"wait": "true"}))


def _settings(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"convention": "kubeless"}
    if args.runtime:
        body["runtime"], body["version"] = _runtime(api, args.runtime)
    if args.from_file and package_of(args.from_file, args.dependencies) is None:
        body["file"] = args.from_file.read_text(encoding="utf-8")
    if args.handler:
        body["handler"] = args.handler
    if args.env:
        body["env"] = pairs(args.env)
    return body


def _runtime(api: Api, spelled: str) -> tuple[str, str]:
    """A Kubeless runtime spelling (`nodejs20`, `python3.12`, `go1.22`, or `node:20`) as the
    catalog's runtime and version: the names agree where one starts with the other."""
    match = KUBELESS_RUNTIME.fullmatch(spelled.lower())
    if match is None:
        raise SystemExit(f"--runtime {spelled!r}: expected a name and a version, e.g. python3.12")
    prefix, version = match.groups()
    for entry in api.json("GET", "/lambda/runtimes")["items"]:
        runtime = str(entry["runtime"])
        if (runtime.startswith(prefix) or prefix.startswith(runtime)) and entry[
            "version"
        ] == version:
            return runtime, version
    raise SystemExit(f"--runtime {spelled!r}: no such runtime (see `lambdaclone function ls`)")


def _functions(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.json("GET", "/lambda/list", params={"limit": 100})["items"]
    return items


def _key_of(api: Api, name: str) -> str:
    found = [f for f in _functions(api) if name in (f["name"], f["key"])]
    if len(found) != 1:
        problem = "no function" if not found else f"{len(found)} functions"
        raise SystemExit(f"{problem} named {name!r}: give its key")
    return str(found[0]["key"])


def ls(api: Api, args: argparse.Namespace) -> int:
    rows = [["NAME", "KEY", "HANDLER", "RUNTIME", "STATUS", "ENDPOINT"]]
    for f in _functions(api):
        runtime = f"{f['runtime']}{f['version']}"
        rows.append(
            [f["name"], f["key"], f["handler"], runtime, f["status"]["phase"], f["endpoint"]]
        )
    print_table(rows)
    return 0


def call_function(api: Api, args: argparse.Namespace) -> int:
    """As `kubeless function call` does: a GET without data, else a POST whose `event-*`
    headers describe it (JSON when the data parses as JSON, a form otherwise)."""
    path = f"/endpoint/{_key_of(api, args.name)}"
    if args.data is None:
        return print_answer(api.request("GET", path))
    return print_answer(
        api.request("POST", path, content=args.data.encode(), headers=event_headers(args.data))
    )


def event_headers(data: str) -> dict[str, str]:
    kind = "application/json" if _is_json(data) else "application/x-www-form-urlencoded"
    return {
        "Content-Type": kind,
        "event-type": kind,
        "event-id": uuid.uuid4().hex,
        "event-time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "event-namespace": EVENT_NAMESPACE,
    }


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def show_logs(api: Api, args: argparse.Namespace) -> int:
    params = {"key": _key_of(api, args.name), "limit": 1000}
    for line in api.json("GET", "/lambda/logs", params=params)["lines"]:
        print(f"{line['time']} {line['stream']}: {line['message']}")
    return 0


def delete_function(api: Api, args: argparse.Namespace) -> int:
    params = {"key": _key_of(api, args.name), "wait": "true"}
    return print_answer(api.request("DELETE", "/lambda", params=params))
