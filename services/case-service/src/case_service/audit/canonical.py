"""The canonical bytes of a stored event and its chain hash: the definition every verifier
(store, bundle) uses. docs/audit.md. The writer spells the same bytes in SQL, in the statement
that inserts the events (audit/chain.py, `EventChain.insert_events`), so the database links
them in that statement; tests/integration/audit/test_chain_writer.py holds the two equal.

    canonical = field(b"arrears.event.v1")          # format tag
              ‖ field(originator id, 16 raw UUID bytes)
              ‖ field(version, 8 bytes unsigned big-endian)
              ‖ field(topic, UTF-8)
              ‖ field(state as stored: after compression and encryption)
              ‖ field(recorded time, 8 bytes signed big-endian microseconds since the Unix epoch, UTC)
    field(x)  = len(x) as 4 bytes unsigned big-endian ‖ x
    hash      = SHA-256(previous hash of the same case ‖ canonical)
    previous hash of a case's first event = 32 zero bytes (GENESIS)

Length prefixes make the encoding injective: no two different records share bytes.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from uuid import UUID

FORMAT_TAG = b"arrears.event.v1"
GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch; PostgreSQL's timestamptz keeps exactly these."""
    if moment.tzinfo is None:
        raise ValueError("a recorded time must carry a time zone")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical_bytes(
    originator_id: UUID, version: int, topic: str, state: bytes, recorded_at: datetime
) -> bytes:
    return b"".join(
        (
            _field(FORMAT_TAG),
            _field(originator_id.bytes),
            _field(struct.pack(">Q", version)),
            _field(topic.encode("utf-8")),
            _field(state),
            _field(struct.pack(">q", micros(recorded_at))),
        )
    )


def event_hash(
    prev_hash: bytes,
    originator_id: UUID,
    version: int,
    topic: str,
    state: bytes,
    recorded_at: datetime,
) -> bytes:
    if len(prev_hash) != 32:
        raise ValueError("a previous hash is 32 bytes")
    digest = hashlib.sha256(prev_hash)
    digest.update(canonical_bytes(originator_id, version, topic, state, recorded_at))
    return digest.digest()
