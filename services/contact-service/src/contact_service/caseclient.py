"""A lean HTTP/1.1 client for case-service's command routes (the attempt path's forwarding)
and the projection's subject-key reads (`keys.py`).

A contact attempt is answered with case-service's own answer, so every attempt makes one
request to case-service. A general client (httpx) cost a quarter of contact-service's CPU per
attempt; this one does only what that request needs: keep-alive connections reused from a
small pool, the body already JSON bytes (orjson), the answer parsed by httptools (the parser
uvicorn uses: Content-Length and chunked bodies). A connection the server closed while it
idled is retried once on a new one (the request carries its Idempotency-Key, so a resend is
safe). The background `arrears.outbox.CommandForwarder` keeps delivering what this path could
not (case-service away), with its own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str


@dataclass
class _Reading:
    """httptools' callbacks for one response."""

    body: bytearray = field(default_factory=bytearray)
    content_type: str = ""
    done: bool = False
    keep_alive: bool = False
    parser: httptools.HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self.content_type = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete the parser has reset its flags.
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class CaseServiceClient:
    """`await client.post(path, body, headers)` -> Answer; `await client.aclose()`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, keep: int = 16) -> None:
        url = urlsplit(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = url.hostname
        self._ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if url.scheme == "https" else None
        )
        self._port = url.port or (443 if self._ssl else 80)
        self._prefix = url.path
        self._host_header = url.netloc.encode("latin-1")
        self._timeout = timeout
        self._keep = keep
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        head = self._start(b"POST", path)
        head += [b"Content-Type: application/json\r\nContent-Length: ", str(len(body)).encode()]
        head.append(b"\r\n")
        return await self._send(head, body, headers)

    async def get(self, path: str, headers: dict[str, str]) -> Answer:
        """A GET (the projection's subject keys); safe to resend, as `post` with its key."""
        return await self._send(self._start(b"GET", path), b"", headers)

    def _start(self, method: bytes, path: str) -> list[bytes]:
        """The request line and the Host header."""
        target = (self._prefix + path).encode("latin-1")
        return [method, b" ", target, b" HTTP/1.1\r\nHost: ", self._host_header, b"\r\n"]

    async def _send(self, head: list[bytes], body: bytes, headers: dict[str, str]) -> Answer:
        for name, value in headers.items():
            head += [name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n"]
        request = b"".join((*head, b"\r\n", body))
        async with asyncio.timeout(self._timeout):
            while self._idle:  # a reused connection may have been closed by the server
                connection = self._idle.pop()
                try:
                    return await self._exchange(connection, request)
                except (OSError, EOFError, httptools.HttpParserError):
                    connection[1].close()
            return await self._exchange(await self._connect(), request)

    async def _connect(self) -> _Connection:
        return await asyncio.open_connection(self._host, self._port, ssl=self._ssl)

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        reader, writer = connection
        try:
            writer.write(request)
            await writer.drain()
            reading = _Reading()
            parser = reading.parser = httptools.HttpResponseParser(reading)
            while not reading.done:
                data = await reader.read(65536)
                if not data:
                    raise EOFError("case-service closed the connection")
                parser.feed_data(data)
        except BaseException:
            writer.close()
            raise
        if reading.keep_alive and len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            writer.close()
        return Answer(parser.get_status_code(), bytes(reading.body), reading.content_type)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
