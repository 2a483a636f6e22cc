"""One write per response: uvicorn's httptools protocol, its writes of one loop turn joined.

uvicorn writes a response's status line and headers when the app sends
`http.response.start`, and its body at `http.response.body`: two system calls, and two
wake-ups of the client, for a command's answer of a hundred bytes (about a twelfth of the
server's CPU per command in the full bench, docs/benchmarks.md). Here what a connection
writes during one turn of the event loop goes out as one write at the end of that turn:
the same bytes in the same order, a few microseconds later.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _JoinedWrites:
    """The connection's transport as the protocol sees it: `write` keeps the bytes until the
    loop's current turn ends; everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        # A transport already closing lost its peer: there is nobody to write to.
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()  # what was written goes before the close, as it would have
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, _JoinedWrites(transport, self.loop))
