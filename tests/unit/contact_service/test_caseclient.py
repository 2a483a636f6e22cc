"""The lean client that forwards a command to case-service: keep-alive, Content-Length and
chunked answers, and a connection the server closed while it idled is retried on a new one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import ClassVar

import httptools
import pytest
from contact_service.caseclient import CaseServiceClient


class Server(asyncio.Protocol):
    """Answers each request; `chunked` answers in chunks; `close_after` closes a connection
    after that many answers (an idle keep-alive connection the server drops)."""

    connections = 0
    requests: ClassVar[list[tuple[bytes, bytes]]] = []
    chunked = False
    close_after: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        Server.connections += 1
        self.transport, self.answered = transport, 0
        self.parser = httptools.HttpRequestParser(self)
        self.body = b""

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        Server.requests.append((self.url, self.body))
        self.body = b""
        answer = b'{"events":["ContactAttempted"]}'
        if Server.chunked:
            half = len(answer) // 2
            payload = b"".join(
                b"%x\r\n%s\r\n" % (len(part), part) for part in (answer[:half], answer[half:])
            )
            head = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
            self.transport.write(
                head + b"transfer-encoding: chunked\r\n\r\n" + payload + b"0\r\n\r\n"
            )
        else:
            head = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: "
            self.transport.write(head + str(len(answer)).encode() + b"\r\n\r\n" + answer)
        self.answered += 1
        if Server.close_after is not None and self.answered >= Server.close_after:
            self.transport.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    Server.connections, Server.requests, Server.chunked, Server.close_after = 0, [], False, None
    listening = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    listening.close()


async def test_answers_come_back_over_one_kept_alive_connection(server: str) -> None:
    client = CaseServiceClient(server)
    try:
        for n in range(3):
            answer = await client.post(f"/v1/cases/c/contact-attempts?n={n}", b'{"a":1}', {})
            assert (answer.status, answer.body) == (201, b'{"events":["ContactAttempted"]}')
            assert answer.content_type == "application/json"
    finally:
        await client.aclose()
    assert Server.connections == 1
    assert Server.requests[0] == (b"/v1/cases/c/contact-attempts?n=0", b'{"a":1}')


async def test_a_chunked_answer_is_read_whole(server: str) -> None:
    Server.chunked = True
    client = CaseServiceClient(server)
    try:
        answer = await client.post("/v1/cases/c/promises", b"{}", {"Idempotency-Key": "k"})
    finally:
        await client.aclose()
    assert answer.body == b'{"events":["ContactAttempted"]}'


async def test_a_connection_the_server_closed_while_idle_is_replaced(server: str) -> None:
    Server.close_after = 1
    client = CaseServiceClient(server)
    try:
        first = await client.post("/v1/cases/c/contact-attempts", b"{}", {})
        await asyncio.sleep(0.05)  # the server has closed the kept connection by now
        second = await client.post("/v1/cases/c/contact-attempts", b"{}", {})
    finally:
        await client.aclose()
    assert (first.status, second.status) == (201, 201)
    assert Server.connections == 2
    assert len(Server.requests) == 2


async def test_nothing_listening_is_an_os_error() -> None:
    client = CaseServiceClient("http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(OSError, match=r"Connect call failed|refused"):
        await client.post("/v1/cases/c/contact-attempts", b"{}", {})
    await client.aclose()
