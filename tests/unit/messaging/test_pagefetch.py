"""The feed client's lean page reads, against a real socket: a 200 framed by Content-Length
comes back on a kept-alive connection; anything else is asked again through httpx, which
answers or raises as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest
from arrears.messaging.gaps import FeedClient
from arrears.messaging.pagefetch import LeanPages

PAGE = orjson.dumps({"events": [], "next_after": 7, "head": 7}) + b" " * 200_000


class Server:
    """Answers each request with what `answer(n)` gives for the n-th request (0-based),
    keeping a record of the requests' heads and of the connections opened."""

    def __init__(self, answer: Callable[[int], bytes | None], *, close_first: bool = False) -> None:
        self.answer = answer
        self.close_first = close_first  # close the connection after the first answer
        self.heads: list[bytes] = []
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                reply = self.answer(len(self.heads) - 1)
                if reply is None:  # the server closes the connection instead of answering
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_first and len(self.heads) == 1:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


def ok(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"content-type: application/json", *extra]
    head.append(b"content-length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


Serving = Callable[[Server], Awaitable[str]]


@pytest.fixture
async def serving() -> AsyncIterator[Serving]:
    servers: list[asyncio.Server] = []

    async def start(server: Server) -> str:
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for listening in servers:
        listening.close()


async def test_pages_come_back_whole_on_one_kept_alive_connection(serving: Serving) -> None:
    server = Server(lambda n: ok(PAGE))
    base = await serving(server)
    feed = FeedClient(base + "/prefix", "t0ken")
    try:
        first = await feed.page_body(0, 10_000)
        second = await feed.page(7, 10_000)
    finally:
        await feed.aclose()

    assert first == PAGE
    assert second.next_after == 7
    assert server.connections == 1
    assert server.heads[0].startswith(b"GET /prefix/v1/events?after=0&limit=10000 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t0ken\r\n" in server.heads[0]
    assert b"\r\nHost: 127.0.0.1:" in server.heads[0]


async def test_a_connection_the_server_closed_while_idle_is_replaced(serving: Serving) -> None:
    server = Server(lambda n: None if n == 1 else ok(PAGE))
    base = await serving(server)
    lean = LeanPages(base, timeout=5)
    try:
        assert await lean.get("/v1/events?after=0&limit=1", {}) == PAGE
        assert await lean.get("/v1/events?after=0&limit=1", {}) == PAGE
    finally:
        lean.close()
    assert server.connections == 2
    assert len(server.heads) == 3  # the second request went out twice


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}",  # cut short
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{}",  # no length
    ],
)
async def test_anything_but_a_framed_200_is_left_to_httpx(serving: Serving, reply: bytes) -> None:
    server = Server(lambda n: reply if n == 0 else ok(PAGE), close_first=True)
    base = await serving(server)
    lean = LeanPages(base, timeout=5)
    try:
        assert await lean.get("/v1/events?after=0&limit=1", {}) is None
    finally:
        lean.close()

    feed = FeedClient(base, "t")  # the same first answer, then httpx asks again
    server.heads.clear()
    server.connections = 0
    try:
        if reply.startswith(b"HTTP/1.1 401"):
            server.answer = lambda n: reply
            with pytest.raises(httpx.HTTPStatusError):
                await feed.page_body(0, 1)
        else:
            assert await feed.page_body(0, 1) == PAGE
    finally:
        await feed.aclose()


async def test_a_test_transport_or_tls_keeps_httpx() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=PAGE))
    assert FeedClient("http://case-service", "t", transport=transport)._lean is None
    assert FeedClient("https://case-service", "t")._lean is None
    with pytest.raises(ValueError, match="plain http"):
        LeanPages("https://case-service", 1)
