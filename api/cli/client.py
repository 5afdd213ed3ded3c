"""The CLI's side of HTTP: the token it sends, requests, and how answers are printed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from engine.settings import Settings

URL_ENV = "LAMBDACLONE_URL"
TOKEN_ENV = "LAMBDACLONE_TOKEN"  # noqa: S105 - a variable name
ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name


def default_token() -> str | None:
    """$LAMBDACLONE_TOKEN, the configured admin token, or the one the server wrote."""
    explicit = os.environ.get(TOKEN_ENV) or os.environ.get("LAMBDACLONE_ADMIN_TOKEN")
    if explicit:
        return explicit
    path = Settings().data_dir / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


@dataclass
class Api:
    http: httpx.Client
    token: str | None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON, or SystemExit(1) with the API's error on stderr."""
        response = self.request(method, path, **kwargs)
        if response.is_error:
            raise SystemExit(report_error(response))
        return response.json() if response.content else None


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def report_error(response: httpx.Response) -> int:
    body = body_of(response)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = error.get("code", f"http_{response.status_code}")
    print(f"error {response.status_code} {code}: {error.get('message', body)}", file=sys.stderr)
    if error.get("detail"):  # what the message summarises: the functions, the field, the limit
        print(f"detail: {json.dumps(error['detail'])}", file=sys.stderr)
    return 1


def print_answer(response: httpx.Response) -> int:
    """The answer as pretty JSON (or text), exit status 0; an error on stderr, status 1."""
    if response.is_error:
        return report_error(response)
    body = body_of(response)
    print(json.dumps(body, indent=2) if not isinstance(body, str) else body)
    return 0


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def pairs(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=VALUE, got {item!r}")
        out[name] = value
    return out
