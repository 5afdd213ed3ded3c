"""`lambdaclone settings`: every `LAMBDACLONE_*` setting, its default and meaning, as the
Markdown of docs/configuration.md — derived from `engine.settings.Settings`, so the reference
cannot drift from the code (a test compares the two)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from engine.settings import Settings

HEADER = """# Configuration

Every setting is an environment variable `LAMBDACLONE_<NAME>`; lists are comma separated.
This page is generated from the code: `uv run lambdaclone settings > docs/configuration.md`.

| variable | default | meaning |
|---|---|---|
"""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("settings", help="the settings reference (Markdown)")
    parser.set_defaults(run=lambda _api, _args: print_reference())


def print_reference() -> int:
    print(markdown(), end="")
    return 0


def markdown() -> str:
    rows = [_row(name, field) for name, field in Settings.model_fields.items()]
    return HEADER + "".join(rows)


def _row(name: str, field: FieldInfo) -> str:
    meaning = (field.description or "").replace("|", "\\|")
    return f"| `LAMBDACLONE_{name.upper()}` | {_default(field)} | {meaning} |\n"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(derived)"
    value = field.default
    if value is PydanticUndefined or value is None or value in ("", ()):
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path | str | int | float):
        return f"`{value}`"
    return f"`{value!r}`"
