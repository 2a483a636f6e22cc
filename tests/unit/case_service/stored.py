"""The event store's transcoder and cipher as case-service's application makes them, for
tests that write and read records without a database."""

from __future__ import annotations

from case_service.cipher import FastAESCipher
from case_service.persistence import DateAsISO
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import Environment


def case_transcoder() -> JSONTranscoder:
    """The library's transcodings and the dates' (CaseApplication.register_transcodings)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def fresh_cipher() -> FastAESCipher:
    """The application's cipher, with a key of its own."""
    return FastAESCipher(Environment(env={"CIPHER_KEY": AESCipher.create_key(num_bytes=32)}))
