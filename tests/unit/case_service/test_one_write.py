"""A response's writes within one turn of the event loop leave as one write, in order; a
close sends what was written first; a connection already closing is not written to."""

from __future__ import annotations

import asyncio
from typing import Any

from case_service.api.one_write import _JoinedWrites


class Transport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


def test_writes_of_one_turn_leave_as_one_write_in_order() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        transport = Transport()
        joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n")
        joined.write(b"{}")
        assert transport.calls == []  # not yet: the turn has not ended
        await asyncio.sleep(0)
        joined.write(b"next")
        await asyncio.sleep(0)
        return transport.calls

    assert asyncio.run(scenario()) == [
        ("write", b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"),
        ("write", b"next"),
    ]


def test_a_close_sends_what_was_written_first_and_the_rest_is_the_transports() -> None:
    async def scenario() -> tuple[list[tuple[str, Any]], Any]:
        transport = Transport()
        joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"bye")
        joined.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
        return transport.calls, joined.get_extra_info("peername")

    calls, info = asyncio.run(scenario())
    assert calls == [("write", b"bye"), ("close", None)]
    assert info == "info:peername"


def test_a_connection_closing_meanwhile_is_not_written_to() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        transport = Transport()
        joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"too late")
        transport.closing = True  # the peer went away
        await asyncio.sleep(0)
        return transport.calls

    assert asyncio.run(scenario()) == []
