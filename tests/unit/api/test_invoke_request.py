"""The pieces of an invocation request (api/invoke_request.py): header filtering, request
targets, ids, the bounded body; and the proxy's stats."""

import asyncio
from typing import Any

import pytest

from api import invoke_request, proxy
from engine.errors import PayloadTooLarge
from engine.target import Upstream


def scope(headers: list[tuple[bytes, bytes]], **extra: Any) -> dict[str, Any]:
    return {"headers": headers, "client": ("10.0.0.7", 5555), **extra}


def test_hop_by_hop_and_connection_listed_headers_are_dropped() -> None:
    headers, request_id, length = invoke_request.request_headers(
        scope(
            [
                (b"host", b"example.com"),
                (b"connection", b"keep-alive, X-Private"),
                (b"keep-alive", b"timeout=5"),
                (b"x-private", b"1"),
                (b"te", b"trailers"),
                (b"transfer-encoding", b"chunked"),
                (b"upgrade", b"h2c"),
                (b"proxy-authorization", b"Basic x"),
                (b"content-length", b"12"),
                (b"x-custom", b"kept"),
            ]
        )
    )
    names = [name for name, _ in headers]
    assert names == [b"host", b"x-custom", b"x-forwarded-for", b"x-request-id"]
    assert length == 12
    assert dict(headers)[b"x-forwarded-for"] == b"10.0.0.7"
    assert dict(headers)[b"x-request-id"] == request_id.encode()
    assert len(request_id) == 36


def test_callers_request_id_is_kept_and_forwarded_for_is_the_peer_only() -> None:
    headers, request_id, _ = invoke_request.request_headers(
        scope(
            [
                (b"x-request-id", b"abc-123"),
                (b"x-forwarded-for", b"1.2.3.4"),
                (b"x-forwarded-for", b"5.6.7.8, 9.9.9.9"),  # ASGI names are lower-case
            ]
        )
    )
    assert request_id == "abc-123"
    assert [v for n, v in headers if n.lower() == b"x-forwarded-for"] == [b"10.0.0.7"]


def test_without_a_known_peer_no_forwarded_for_is_sent() -> None:
    headers, _, _ = invoke_request.request_headers(
        {"headers": [(b"x-forwarded-for", b"1.2.3.4")], "client": None}
    )
    assert b"x-forwarded-for" not in dict(headers)


@pytest.mark.parametrize("bad", [b"", b"has space", b"x" * 201, "é".encode(), b"a\r\nb"])
def test_unusable_request_ids_are_replaced(bad: bytes) -> None:
    _, request_id, _ = invoke_request.request_headers(scope([(b"x-request-id", bad)]))
    assert request_id != bad.decode("latin-1")
    assert len(request_id) == 36


def test_upstream_target_keeps_the_raw_path_suffix_and_query() -> None:
    up = Upstream("127.0.0.1", 9000, path_prefix="/endpoint/k1")
    target = invoke_request.upstream_target(
        {"raw_path": b"/endpoint/k1/a%2Fb/c", "path": "/x", "query_string": b"q=%20&x=1"},
        "k1",
        up,
    )
    assert target == "/endpoint/k1/a%2Fb/c?q=%20&x=1"
    bare = invoke_request.upstream_target(
        {"raw_path": b"/endpoint/k1", "query_string": b""}, "k1", up
    )
    assert bare == "/endpoint/k1"


def test_request_ids_are_unique_and_shaped_like_lambdas() -> None:
    ids = {invoke_request.request_headers(scope([]))[1] for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 36 and i.count("-") == 4 and i[14] == "4" for i in ids)


def test_body_over_the_limit_stops_reading_early() -> None:
    messages = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 10
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return messages[len(received) - 1]

    with pytest.raises(PayloadTooLarge):
        asyncio.run(invoke_request.read_body(receive, 100))
    assert len(received) == 2  # stopped as soon as 120 > 100


def test_small_body_is_read_whole() -> None:
    parts = iter(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(parts)

    assert asyncio.run(invoke_request.read_body(receive, 100)) == b"abcd"


def test_stats_record_durations_and_errors() -> None:
    stats = proxy.InvokeStats()
    stats.record(2.0, None)
    stats.record(4.0, "function_timed_out")
    assert stats.to_dict() == {
        "invocations": 2,
        "errors": {"function_timed_out": 1},
        "mean_ms": 3.0,
        "max_ms": 4.0,
        "last_ms": 4.0,
    }
