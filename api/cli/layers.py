"""`lambdaclone layer publish | list | get | delete`: layer versions (docs/layers.md).

`publish` takes the layer's zip, or a directory in Lambda's layout (`python/`,
`nodejs/node_modules/`, `bin/`, `lib/`) that it zips as it is — so a folder built with
`pip install -t python/…` is one command away from a layer.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

from api.cli.client import Api, print_answer, print_table
from api.cli.packages import ZIP_MAGIC

ROUTE = "/lambda/layers"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    layer = commands.add_parser("layer", help="layers: publish, list, get, delete")
    verbs = layer.add_subparsers(dest="verb", required=True)
    publish = verbs.add_parser("publish", help="publish a layer's next version")
    publish.add_argument("name")
    publish.add_argument("source", type=Path, help="a .zip, or a directory to zip")
    publish.add_argument("--description", default="")
    publish.set_defaults(run=publish_layer)
    listing = verbs.add_parser("list", help="every layer's newest version, or one's versions")
    listing.add_argument("name", nargs="?")
    listing.set_defaults(run=list_layers)
    for verb, run, help_text in (
        ("get", get_layer, "one version's metadata"),
        ("delete", delete_layer, "delete a version (refused while a function attaches it)"),
    ):
        parser = verbs.add_parser(verb, help=help_text)
        parser.add_argument("name")
        parser.add_argument("version", type=int)
        parser.set_defaults(run=run)


def zip_of(source: Path) -> bytes:
    """The zip to send: the file itself when it is one, else the directory's files zipped
    with their paths relative to it (a file that is neither is refused here)."""
    if source.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(source.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.write(path, path.relative_to(source).as_posix())
        return buffer.getvalue()
    raw = source.read_bytes()
    if not raw.startswith(ZIP_MAGIC):
        raise SystemExit(f"{source} is neither a zip archive nor a directory")
    return raw


def publish_layer(api: Api, args: argparse.Namespace) -> int:
    params = {"name": args.name, "description": args.description}
    headers = {"Content-Type": "application/zip"}
    answer = api.request("POST", ROUTE, params=params, content=zip_of(args.source), headers=headers)
    return print_answer(answer)


def list_layers(api: Api, args: argparse.Namespace) -> int:
    if args.name:
        items = api.json("GET", f"{ROUTE}/versions", params={"name": args.name})["items"]
    else:
        items = api.json("GET", ROUTE)["items"]
    rows = [["REF", "FILES", "UNPACKED", "CREATED", "DESCRIPTION"]]
    for layer in items:
        counts = [str(layer["files"]), str(layer["unpacked_bytes"])]
        rows.append([layer["ref"], *counts, layer["created"], layer["description"]])
    print_table(rows)
    return 0


def get_layer(api: Api, args: argparse.Namespace) -> int:
    params = {"name": args.name, "version": str(args.version)}
    return print_answer(api.request("GET", f"{ROUTE}/version", params=params))


def delete_layer(api: Api, args: argparse.Namespace) -> int:
    params = {"name": args.name, "version": str(args.version)}
    answer = api.request("DELETE", f"{ROUTE}/version", params=params)
    if answer.is_error:
        return print_answer(answer)
    print(f"deleted {args.name}:{args.version}")
    return 0
