"""Signed checkpoints and canonical event bytes: formats that verifiers outside Python can read."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from case_service.audit.canonical import GENESIS, canonical_bytes, event_hash
from case_service.audit.note import Checkpoint, NoteError, SignerKey, VerifierKey, open_note
from hypothesis import given
from hypothesis import strategies as st

SEED = base64.b64encode(bytes(range(32))).decode()
AT = datetime(2026, 12, 5, 9, 30, 1, 123456, tzinfo=UTC)
CASE = UUID("6f0b2c1e-8a54-5d7e-9c1a-3e2f4b5a6c7d")


def _checkpoint(size: int = 7) -> Checkpoint:
    return Checkpoint("arrears/case-service", size, hashlib.sha256(b"root").digest(), AT)


def test_a_checkpoint_reads_as_a_c2sp_signed_note() -> None:
    key = SignerKey.from_base64("arrears/case-service", SEED)
    note = _checkpoint().sign(key)
    body, signature = note.split("\n\n")

    assert body.split("\n") == [
        "arrears/case-service",
        "7",
        base64.b64encode(hashlib.sha256(b"root").digest()).decode(),
        "time 2026-12-05T09:30:01.123456Z",
    ]
    assert signature.startswith("\u2014 arrears/case-service ")
    raw = base64.b64decode(signature.split(" ")[2])
    assert raw[:4] == key.verifier.key_id
    assert open_note(note, key.verifier) == _checkpoint()


def test_the_key_id_is_the_signed_note_hash_of_name_type_and_key() -> None:
    verifier = SignerKey.from_base64("example.com/log", SEED).verifier
    expected = hashlib.sha256(b"example.com/log\n\x01" + verifier.public).digest()[:4]

    assert verifier.key_id == expected
    assert VerifierKey.parse(verifier.text()) == verifier


def test_a_note_signed_with_another_key_or_changed_fails() -> None:
    key = SignerKey.from_base64("arrears/case-service", SEED)
    other = SignerKey.from_base64("arrears/case-service", base64.b64encode(bytes(32)).decode())
    note = _checkpoint().sign(key)

    with pytest.raises(NoteError, match="not signed by"):
        open_note(_checkpoint().sign(other), key.verifier)
    with pytest.raises(NoteError):
        open_note(note.replace("\n7\n", "\n8\n"), key.verifier)


def test_a_verifier_key_with_a_wrong_id_is_refused() -> None:
    text = SignerKey.from_base64("arrears/case-service", SEED).verifier.text()
    name, _, encoded = text.split("+", 2)

    with pytest.raises(NoteError, match="id does not match"):
        VerifierKey.parse(f"{name}+{'0' * 8}+{encoded}")


def test_the_chain_hash_is_sha256_of_the_previous_hash_and_length_prefixed_fields() -> None:
    state = b"\x00\x01stored"
    expected = hashlib.sha256(
        GENESIS
        + b"\x00\x00\x00\x10arrears.event.v1"
        + b"\x00\x00\x00\x10"
        + CASE.bytes
        + b"\x00\x00\x00\x08"
        + (3).to_bytes(8, "big")
        + b"\x00\x00\x00\x05topic"
        + b"\x00\x00\x00\x08"
        + state
        + b"\x00\x00\x00\x08"
        + (1_796_463_001_123_456).to_bytes(8, "big", signed=True)
    ).digest()

    assert event_hash(GENESIS, CASE, 3, "topic", state, AT) == expected


@given(st.binary(max_size=40), st.binary(max_size=40), st.text(max_size=10), st.text(max_size=10))
def test_moving_bytes_between_fields_changes_the_canonical_bytes(
    state1: bytes, state2: bytes, topic1: str, topic2: str
) -> None:
    same = (topic1, state1) == (topic2, state2)
    one = canonical_bytes(CASE, 1, topic1, state1, AT)
    two = canonical_bytes(CASE, 1, topic2, state2, AT)

    assert (one == two) == same


def test_recorded_time_counts_in_microseconds() -> None:
    later = event_hash(GENESIS, CASE, 1, "t", b"", AT + timedelta(microseconds=1))

    assert later != event_hash(GENESIS, CASE, 1, "t", b"", AT)
