"""A lean GET of the feed's big pages (a rebuild's), beside httpx.

httpx hands a body over in 64 KiB pieces through several layers (h11, httpcore, its own
stream), about a tenth of a rebuilding process's CPU for a page of 10,000 events. This does
only what that request needs: the request written whole on a kept-alive connection, the
answer's head read at once, and its body read exactly by Content-Length.

It answers only a 200 with a Content-Length; for anything else (an error status, a chunked
body, a connection that broke or that the server closed while it idled, a timeout) it gives
None and closes the connection, and the caller asks again through httpx, which gives the
answer or raises as it always has. The request is a read, so asking twice is safe.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# The reader's buffer limit: above twice this asyncio pauses reading until the body is taken,
# once per piece of a big body. Bodies are read whole, so it is set above a page's size.
_BUFFER = 64 * 1024 * 1024


class LeanPages:
    """`await pages.get(path_and_query, headers)` -> the body of a 200, or None."""

    def __init__(self, base_url: str, timeout: float) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname or url.username or url.password:
            raise ValueError(f"not a plain http URL: {base_url!r}")
        self._host = url.hostname
        self._port = url.port or 80
        self._prefix = url.path.rstrip("/")
        self._host_header = url.netloc
        self._timeout = timeout
        self._idle: _Connection | None = None

    async def get(self, target: str, headers: dict[str, str]) -> bytes | None:
        lines = [f"GET {self._prefix}{target} HTTP/1.1", f"Host: {self._host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        connection, self._idle = self._idle, None
        if connection is not None:  # the server may have closed it while it idled
            body = await self._exchange(connection, request)
            if body is not None:
                return body
        try:
            async with asyncio.timeout(self._timeout):
                connection = await asyncio.open_connection(self._host, self._port, limit=_BUFFER)
        except (OSError, TimeoutError):
            return None
        return await self._exchange(connection, request)

    async def _exchange(self, connection: _Connection, request: bytes) -> bytes | None:
        reader, writer = connection
        try:
            async with asyncio.timeout(self._timeout):
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length, keep = _framing(head)
                if length is None:
                    writer.close()
                    return None
                body = await reader.readexactly(length)
        except (OSError, EOFError, TimeoutError, asyncio.LimitOverrunError, ValueError):
            writer.close()  # IncompleteReadError is an EOFError
            return None
        except BaseException:  # cancelled (a rebuild stopping with a page asked ahead)
            writer.close()
            raise
        if keep and self._idle is None:
            self._idle = connection
        else:
            writer.close()
        return body

    def close(self) -> None:
        connection, self._idle = self._idle, None
        if connection is not None:
            connection[1].close()


def _framing(head: bytes) -> tuple[int | None, bool]:
    """(the body's Content-Length if the answer is a 200 framed by it, else None; whether
    the connection stays open)."""
    status, *fields = head[:-4].split(b"\r\n")
    version, _, rest = status.partition(b" ")
    keep = version == b"HTTP/1.1"
    length: int | None = None
    for field in fields:
        name, _, value = field.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            return None, False
        elif name == b"connection" and b"close" in value.lower():
            keep = False
    if rest[:4] != b"200 " and rest != b"200":
        return None, False
    return length, keep
