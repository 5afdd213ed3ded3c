"""The route table's token list: exactly the tokens that may invoke a function right now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.dataplane.table import UpstreamIds, invokers, route
from engine.access import TokenRecord, secret_hash
from engine.target import Upstream

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def token(name: str, role: str = "invoker", **fields: object) -> TokenRecord:
    return TokenRecord(name, name, role, secret_hash(name), NOW, **fields)  # type: ignore[arg-type]


def test_only_valid_tokens_with_the_invoke_right_for_that_function() -> None:
    tokens = [
        token("any-invoker"),
        token("bound-here", functions=("fn1",)),
        token("bound-elsewhere", functions=("fn2",)),
        token("viewer", role="viewer"),
        token("developer", role="developer"),
        token("revoked", revoked=NOW - timedelta(seconds=1)),
        token("expired", expires=NOW),
        token("expires-later", expires=NOW + timedelta(hours=1)),
    ]
    allowed = invokers(tokens, "fn1", NOW)
    names = {"any-invoker", "bound-here", "developer", "expires-later"}
    assert allowed == sorted(secret_hash(n) for n in names)


def test_a_route_names_its_worker_and_a_public_function_carries_no_tokens() -> None:
    ids = UpstreamIds()
    worker = Upstream("w", 0, "/endpoint/fn1", 500, 3, "none", "/run/w.sock", True)
    same, other = ids.of(worker), ids.of(Upstream("w", 0))
    assert ids.of(worker) == same != other and ids.upstream(same) is worker
    pushed = route(worker, same, "none", ["ignored"])
    assert pushed["socket"] == "/run/w.sock" and pushed["tokens"] == []
    assert pushed["concurrency"] == 3 and pushed["function_url_errors"] is True
