"""A load generator's HTTP/1.1 client: keep-alive connections, requests built as bytes.

The benches' clients share the two cores with the system they measure. aiohttp spent about
0.14 ms of CPU per command (a quarter of all the CPU a command cost, server and PostgreSQL
included), which the system under test then did not have; the issue's own figures came from
wrk, whose CPU per request is negligible. This client does only what a bench request needs
(one connection per client, the request line and headers formatted once, the answer parsed by
httptools, the parser uvicorn uses), so the figures are the system's and not the client's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httptools
import orjson


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._body = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: BaseException | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionResetError("connection closed by the server")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._lost)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        assert self._waiter is not None
        self._waiter.set_result((self._parser.get_status_code(), bytes(self._body)))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self._lost is not None:
            raise self._lost
        assert self._transport is not None
        self._body.clear()
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LeanClient:
    """One connection to `base` (http://host:port) with fixed headers."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"Host": f"{self._host}:{self._port}", **headers}
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._conn: _Connection | None = None

    async def _connection(self) -> _Connection:
        if self._conn is None or self._conn._lost is not None:
            loop = asyncio.get_running_loop()
            _, self._conn = await loop.create_connection(_Connection, self._host, self._port)
        return self._conn

    async def post(self, path: str, body: bytes, extra: str = "") -> tuple[int, bytes]:
        """POST `body` (JSON bytes); `extra`: more header lines, each ending in CRLF."""
        head = (
            f"POST {path} HTTP/1.1\r\n{self._headers}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        conn = await self._connection()
        return await conn.send(head.encode("latin-1") + body)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


# (client number, its request's number) -> (path, JSON body, extra header lines)
Request = Callable[[int, int], tuple[str, dict[str, Any], str]]


async def closed_loop(
    base: str, headers: dict[str, str], clients: int, seconds: float, request: Request
) -> tuple[list[float], int, float]:
    """`clients` clients, each POSTing its next request as soon as the last is answered, for
    `seconds`: every request's latency, how many were not answered 201, and the elapsed time."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        http = LeanClient(base, headers)
        seq = 0
        try:
            while time.perf_counter() < stop_at:
                seq += 1
                path, body, extra = request(n, seq)
                started = time.perf_counter()
                status, _ = await http.post(path, orjson.dumps(body), extra)
                if status != 201:
                    errors += 1
                latencies.append(time.perf_counter() - started)
        finally:
            http.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors, time.perf_counter() - started
