"""The proxy's upstream client (api/upstream_client.py) against small raw HTTP servers on
loopback: keep-alive reuse, chunked answers, HEAD, the body limit, and the one retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from api.upstream_client import UpstreamClient, UpstreamFailed
from engine.errors import ResponseTooLarge
from engine.target import Upstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def serve(handler: Handler) -> tuple[asyncio.Server, Upstream]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, Upstream("127.0.0.1", port)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_connections_are_kept_alive_and_chunked_bodies_streamed() -> None:
    connections: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                head = await read_head(reader)
            except asyncio.IncompleteReadError:
                break
            assert head.startswith(b"GET /p?q=1 HTTP/1.1\r\n")
            writer.write(
                b"HTTP/1.1 201 Created\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
            await writer.drain()
        writer.close()

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        for _ in range(3):
            answer = await client.send(upstream, "GET", "/p?q=1", [(b"host", b"h")], None)
            assert (answer.status, answer.body) == (201, b"")
            assert (b"X-A", b"1") in answer.headers
            assert answer.stream is not None
            assert [chunk async for chunk in answer.stream.chunks()] == [b"abc", b"de"]
            answer.stream.close()  # read whole: the connection goes back to the pool
        await client.close()
        server.close()
        assert len(connections) == 1  # one connection served all three

    run(test)


def test_a_stream_cut_off_by_the_worker_fails_and_its_connection_is_not_reused() -> None:
    connections: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        writer.close()  # dies mid-stream

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        released: list[bool] = []
        answer = await client.send(upstream, "GET", "/", [(b"host", b"h")], None)
        assert answer.stream is not None
        answer.stream.on_close.append(lambda: released.append(True))
        chunks = answer.stream.chunks()
        assert await anext(chunks) == b"abc"
        with pytest.raises(UpstreamFailed, match="cut off"):
            await anext(chunks)
        answer.stream.close()
        answer.stream.close()  # once only
        assert released == [True]
        again = await client.send(upstream, "GET", "/", [(b"host", b"h")], None)
        assert again.stream is not None
        again.stream.close()
        await client.close()
        server.close()
        assert len(connections) == 2  # the broken connection was not pooled

    run(test)


def test_head_answers_end_at_the_headers() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        answer = await asyncio.wait_for(client.send(upstream, "HEAD", "/", [], None), 0.5)
        assert (answer.status, answer.body) == (200, b"")
        await client.close()
        server.close()

    run(test)


def test_an_answer_over_the_limit_is_refused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
        await writer.drain()
        writer.close()

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=10, keepalive_s=30)
        with pytest.raises(ResponseTooLarge):
            await client.send(upstream, "GET", "/", [], None)
        await client.close()
        server.close()

    run(test)


def test_an_idle_connection_the_worker_closed_is_retried_once() -> None:
    served: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        body = await reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r")[0]))
        served.append(body)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # no keep-alive announced, but the connection closes after the answer

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        first = await client.send(upstream, "POST", "/", [], b"one")
        await asyncio.sleep(0.05)  # the worker's close reaches the pooled connection
        second = await client.send(upstream, "POST", "/", [], b"two")
        assert (first.body, second.body) == (b"ok", b"ok")
        assert served == [b"one", b"two"]  # each body reached a handler exactly once
        await client.close()
        server.close()

    run(test)


def test_a_worker_that_breaks_mid_answer_fails_without_a_retry() -> None:
    calls: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        calls.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async def test() -> None:
        server, upstream = await serve(handler)
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        with pytest.raises(UpstreamFailed):
            await client.send(upstream, "GET", "/", [], None)
        assert calls == [1]
        await client.close()
        server.close()

    run(test)


def test_nothing_listening_is_upstream_failed() -> None:
    async def test() -> None:
        client = UpstreamClient(max_body=1024, keepalive_s=30)
        with pytest.raises(UpstreamFailed, match="cannot connect"):
            await client.send(Upstream("127.0.0.1", 1), "GET", "/", [], None)

    run(test)
