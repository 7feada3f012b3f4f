"""Slow clients are cut off: a time limit on the request's headers and on its body, and a cap
on open connections.

uvicorn only times out idle keep-alive connections: a client that sends half a header (or
nothing) keeps its connection, and its file descriptor, for ever. Each connection here
carries the deadline of the part it is reading (headers from the moment it opens or a new
request begins, the body from the end of the headers); one sweep a fraction of a second
apart closes those past it with 408. Nothing is armed or cancelled per request: the hot
path costs two attribute writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .settings import Settings

CUT_OFF = {"total": 0}  # connections closed for being too slow, for /metrics
_BODY = b'{"error":"request_timeout","message":"The request did not arrive in time: closed."}'
TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
)


def guarded(base: type, settings: Settings) -> type:
    """uvicorn's httptools protocol class with the header and body deadlines and the cap."""
    header, body, cap = settings.header_timeout, settings.body_timeout, settings.max_connections

    class Guarded(base):  # type: ignore[valid-type,misc]
        deadline: float | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.deadline = self.loop.time() + header if header else None

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.deadline = self.loop.time() + header if header else None

        def on_headers_complete(self) -> None:
            self.deadline = self.loop.time() + body if body else None
            if len(self.connections) > cap:
                self.scope["jupyter_deploy.crowded"] = True  # the app answers 503
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.deadline = None  # the request is in: its answer is the app's business
            super().on_message_complete()

        def cut_off(self) -> None:
            """408 (unless an answer has started) and close."""
            self.deadline = None
            CUT_OFF["total"] += 1
            cycle = self.cycle
            if cycle is None or cycle.response_complete or not cycle.response_started:
                self.transport.write(TIMEOUT_408)
            self.transport.close()

    return Guarded


async def sweep(connections: set[Any], settings: Settings) -> None:
    """Close the connections whose headers or body are late, for as long as the server runs."""
    limits = [t for t in (settings.header_timeout, settings.body_timeout) if t]
    if not limits:
        return
    every = min(1.0, max(0.05, min(limits) / 4))
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for connection in list(connections):
            deadline = getattr(connection, "deadline", None)
            if deadline is not None and now > deadline and not connection.transport.is_closing():
                connection.cut_off()
