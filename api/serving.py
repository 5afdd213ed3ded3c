"""How `lambdaclone serve` runs uvicorn: httptools for speed, with the limits it lacks.

uvicorn's httptools protocol bounds neither the request head nor the time a client may take
to send it: a 1 MB header, 10 000 headers and any number of half-open connections were all
accepted and held. h11 has a size bound (`h11_max_incomplete_event_size`) but no count and no
read timeout either, so the limits live in one protocol subclass (ADR 0035):

- the head (request line and headers) is refused past `max_header_bytes` or `max_headers`
  with 431 `headers_too_large`, counted as bytes arrive, so a header still being sent is
  refused too;
- a head not complete within `header_timeout_s` of the connection opening (or of the
  request's first byte, on a kept-alive connection) gets 408 `request_timeout`;
- a kept-alive connection idle for `keep_alive_s` is closed (uvicorn's own timer);
- a request HTTP cannot parse gets 400 `bad_request`;

each one the API's JSON error body, then the connection is closed — gracefully: the answer is
followed by a half-close, and what the client still sends is read and dropped for `LINGER_S`
before the socket closes. Closing at once with the client's bytes unread makes the kernel
answer them with a reset, which can destroy the response before the client reads it (the
"lingering close" of RFC 9112 §9.6): a client still sending its slow header got a reset, not
its 408.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.dataplane.listen import behind_data_plane
from api.errors import HTTP_CODES, error_body
from engine.settings import Settings

LINGER_S = 2.0
MESSAGES = {
    400: "the request is not valid HTTP/1.1",
    408: "the request's headers did not arrive in time",
    431: "the request's headers are too large or too many",
}


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(
            settings.http_max_header_bytes,
            settings.http_max_headers,
            settings.http_header_timeout_s,
            settings.http_keep_alive_s,
        )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with `limits` on the request head (see the module)."""

    limits = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._received = 0  # bytes received while a head is incomplete (one header still coming)
        self._parsed = 0  # bytes of the URL and headers parsed so far
        self._headers = 0
        self._refusal = 400
        self._head_timer: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # refused already: read only so the kernel does not answer with a reset
        if self._in_head:
            self._received += len(data)
        super().data_received(data)
        if self._in_head and self._received > self.limits.max_header_bytes:
            self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._parsed, self._headers = True, 0, 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url), 0)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count(len(name) + len(value), 1)

    def on_headers_complete(self) -> None:
        self._in_head, self._received = False, 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """Every refusal of the parser (ours are raised from its callbacks) as JSON."""
        del msg
        self._send_error(self._refusal)

    def _count(self, size: int, headers: int) -> None:
        """Within a parser callback: raising makes httptools give up on the request."""
        self._parsed += size
        self._headers += headers
        limits = self.limits
        if self._headers > limits.max_headers or self._parsed > limits.max_header_bytes:
            self._refusal = 431
            raise ValueError("request head over the limits")

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            timeout = self.limits.header_timeout_s
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a pipelined head: never cut the answer before it
        else:
            self._refuse(408)

    def _refuse(self, status: int) -> None:
        if not self.transport.is_closing() and not self._lingering:
            self._send_error(status)

    def _send_error(self, status: int) -> None:
        self._cancel_head_timer()
        body = json.dumps(error_body(HTTP_CODES[status], MESSAGES[status])).encode()
        head = [STATUS_LINE[status]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._linger()

    def _linger(self) -> None:
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def protocol_with(limits: HttpLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to `limits`."""
    return type("LimitedHttpTools", (LimitedHttpToolsProtocol,), {"limits": limits})


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for the control plane (also what the tests serve the app with)."""
    limits = HttpLimits.of(settings)
    options = {
        "http": protocol_with(limits),
        "timeout_keep_alive": limits.keep_alive_s,
        "access_log": settings.access_log,
        # X-Forwarded-For is believed only from the proxies named in the settings (the ALB
        # in a cluster); otherwise a local client could choose the sourceIp functions see.
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
    }
    return options | behind_data_plane(settings)  # a private socket behind the Go data plane
