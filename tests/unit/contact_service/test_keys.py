"""The projection's subject keys over the lean client: a key case-service hands out opens
the values sealed with it, an erased subject's (410) reads "[erased]", and an answer that is
neither is an error to retry; each key is asked for once while cached."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from typing import ClassVar

import httptools
import pytest
from arrears.messaging.personal import ERASED, KeyFetchError
from contact_service.keys import LeanSubjectKeyClient
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = AESGCM.generate_key(bit_length=256)
LIVE, ERASED_ID, BROKEN = "a" * 32, "b" * 32, "c" * 32


def sealed(value: str, key_id: str) -> dict[str, str]:
    nonce = os.urandom(12)
    enc = nonce + AESGCM(KEY).encrypt(nonce, value.encode(), key_id.encode())
    return {"ref": "r1", "enc": base64.b64encode(enc).decode(), "key_id": key_id}


class CaseService(asyncio.Protocol):
    """`GET /v1/subject-keys/{id}` as case-service answers it: 200 with the key, 410 once
    erased, 500 for the broken one; it notes each path and Authorization header."""

    asked: ClassVar[list[tuple[bytes, bytes]]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.authorization = b""

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.authorization = value

    def on_message_complete(self) -> None:
        CaseService.asked.append((self.url, self.authorization))
        if self.url.endswith(LIVE.encode()):
            status, body = b"200 OK", json.dumps({"key": base64.b64encode(KEY).decode()})
        elif self.url.endswith(ERASED_ID.encode()):
            status, body = b"410 Gone", '{"detail":"erased"}'
        else:
            status, body = b"500 Internal Server Error", "{}"
        payload = body.encode()
        self.transport.write(
            b"HTTP/1.1 "
            + status
            + b"\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )


@pytest.fixture
async def case_service() -> AsyncIterator[str]:
    CaseService.asked = []
    listening = await asyncio.get_running_loop().create_server(CaseService, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    listening.close()


async def test_keys_open_values_erased_read_erased_and_are_asked_once(case_service: str) -> None:
    keys = LeanSubjectKeyClient(case_service, lambda: "tok")
    try:
        data = {"phone": sealed("+8613800000001", LIVE), "old": sealed("1 Road", ERASED_ID)}
        opened = await keys.open(data)
        again = await keys.open({"phone": sealed("+8613700000009", LIVE)})
        with pytest.raises(KeyFetchError, match="HTTP 500"):
            await keys.key(BROKEN)
    finally:
        await keys.aclose()
    assert opened == {"phone": "+8613800000001", "old": ERASED}
    assert again == {"phone": "+8613700000009"}
    assert sorted(CaseService.asked) == sorted(
        [(f"/v1/subject-keys/{k}".encode(), b"Bearer tok") for k in (LIVE, ERASED_ID, BROKEN)]
    )
