"""The route table the control plane pushes to the data plane (pure: no I/O).

A route names one warm worker (`Upstream`) of one function with every limit the Python proxy
enforces there. A token-protected function carries the sha256 hashes of the tokens that may
invoke it right now (valid, with the invoke right, bound to it or to every function); any other
caller is handed back to the control plane, which answers 401/403/429 in its own shapes.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from engine.access import Principal, TokenRecord
from engine.target import Upstream

Route = dict[str, object]
Table = dict[str, Route]


@runtime_checkable
class WarmView(Protocol):
    """A target that can tell its warm worker without starting one (None: cold)."""

    def warm_upstream(self, key: str) -> Upstream | None: ...


class UpstreamIds:
    """A stable id per `Upstream` object (compared by identity, as the proxy's counts are)."""

    def __init__(self) -> None:
        self._ids: weakref.WeakKeyDictionary[Upstream, str] = weakref.WeakKeyDictionary()
        self._by_id: weakref.WeakValueDictionary[str, Upstream] = weakref.WeakValueDictionary()
        self._next = itertools.count(1)

    def of(self, upstream: Upstream) -> str:
        known = self._ids.get(upstream)
        if known is None:
            known = self._ids[upstream] = f"u{next(self._next)}"
            self._by_id[known] = upstream
        return known

    def upstream(self, upstream_id: str) -> Upstream | None:
        return self._by_id.get(upstream_id)


def invokers(tokens: Iterable[TokenRecord], key: str, now: datetime) -> list[str]:
    """Hashes of the tokens that may invoke `key` at `now` (sorted: a stable push)."""
    return sorted(
        t.secret_hash
        for t in tokens
        if t.valid_at(now) and Principal.of(t).may("functions:invoke", key)
    )


def route(upstream: Upstream, upstream_id: str, auth: str, tokens: list[str]) -> Route:
    return {
        "id": upstream_id,
        "socket": upstream.socket_path or "",
        "host": upstream.host,
        "port": upstream.port,
        "prefix": upstream.path_prefix,
        "timeout_ms": upstream.timeout_ms,
        "concurrency": upstream.concurrency,
        "auth": auth,
        "tokens": tokens if auth == "token" else [],
        "function_url_errors": upstream.function_url_errors,
    }
