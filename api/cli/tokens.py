"""`lambdaclone token create | list | revoke`: API tokens (an admin's)."""

from __future__ import annotations

import argparse
import json

from api.cli.client import Api, print_answer, print_table
from engine.access import ROLES


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="API tokens: create, list, revoke")
    verbs = token.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="a new token (its secret is printed once)")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--function", action="append", default=[], help="invoker tokens: a key it may invoke"
    )
    create.add_argument("--expires", help="ISO 8601 time with a zone, e.g. 2027-01-01T00:00:00Z")
    create.set_defaults(run=create_token)
    verbs.add_parser("list", help="every token (never a secret)").set_defaults(run=list_tokens)
    revoke = verbs.add_parser("revoke", help="stop a token at once")
    revoke.add_argument("id")
    revoke.set_defaults(run=revoke_token)


def create_token(api: Api, args: argparse.Namespace) -> int:
    body = {"name": args.name, "role": args.role, "functions": args.function}
    if args.expires:
        body["expires"] = args.expires
    response = api.request("POST", "/lambda/tokens", json=body)
    if response.is_error:
        return print_answer(response)
    made = response.json()
    print(json.dumps(made, indent=2))
    return 0


def list_tokens(api: Api, args: argparse.Namespace) -> int:
    items = api.json("GET", "/lambda/tokens")["items"]
    rows = [["ID", "NAME", "ROLE", "FUNCTIONS", "CREATED", "LAST USED", "EXPIRES", "REVOKED"]]
    for t in items:
        rows.append(
            [
                t["id"],
                t["name"],
                t["role"],
                ",".join(t["functions"]) or "any",
                t["created"],
                t["last_used"] or "never",
                t["expires"] or "never",
                t["revoked"] or "",
            ]
        )
    print_table(rows)
    return 0


def revoke_token(api: Api, args: argparse.Namespace) -> int:
    return print_answer(api.request("DELETE", f"/lambda/tokens/{args.id}"))
