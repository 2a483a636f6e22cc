"""Upcasting across the wire: an event stored in an old shape reaches Kafka, the feed and a
consumer in the current shape, with the current `classversion`.

The case-service catalogue has no event past `class_version` 1 yet, so this uses a
test-only event class, `FeeCharged`, in its second version. Version 1 stored
`{"amount": "35.00", "note": "..."}` (the amount as a bare string, no currency);
version 2 stores `{"amount": Decimal, "currency": "CNY", "reason": "..."}`. The library's
mapper runs `upcast_v1_v2` on every read of a version-1 record, so the relay's
`CaseEventEncoder` (and the feed, which shares it) never sees the old shape.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from arrears.messaging import Envelope
from case_service.application import CaseApplication
from case_service.domain.events import CaseEvent
from case_service.relay import RelaySettings
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .conftest import START, Workload, eventually, read_topic, running_relay, store_events
from .test_consumer import feed_client, running_consumer


class FeeCharged(CaseEvent):
    """Test-only: a fee added to the case's arrears. Version 2 (see the module docstring)."""

    class_version: ClassVar[int] = 2
    amount: Decimal
    currency: str
    reason: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v1 -> v2: the amount becomes a Decimal with the case's currency (all v1 fees were
        charged in CNY); `note` is renamed `reason`."""
        state["amount"] = Decimal(state["amount"])
        state["currency"] = "CNY"
        state["reason"] = state.pop("note")


def store_v1(cases: CaseApplication, case_id: uuid.UUID, version: int) -> None:
    """Write a FeeCharged record exactly as version 1 of the class stored it."""
    state = {"timestamp": START, "amount": "35.00", "note": "late fee"}  # no class_version key
    raw = cases.mapper.transcoder.encode(state)
    if cases.mapper.compressor:
        raw = cases.mapper.compressor.compress(raw)
    if cases.mapper.cipher:
        raw = cases.mapper.cipher.encrypt(raw)
    record = StoredEvent(
        originator_id=case_id, originator_version=version, topic=get_topic(FeeCharged), state=raw
    )
    cases.recorder.insert_events([record])


def store_v2(cases: CaseApplication, case_id: uuid.UUID, version: int) -> None:
    """Write a FeeCharged of the current shape, as the class stores it today."""
    event = FeeCharged(  # type: ignore[call-arg]
        originator_id=case_id,
        originator_version=version,
        timestamp=START,
        amount=Decimal("12.50"),
        currency="CNY",
        reason="card fee",
    )
    cases.recorder.insert_events([cases.mapper.to_stored_event(event)])


def stored_state(cases: CaseApplication, case_id: uuid.UUID, version: int) -> dict[str, Any]:
    """The decoded state of a stored record, before any upcasting."""
    record = next(
        r for r in cases.recorder.select_events(case_id) if r.originator_version == version
    )
    raw = record.state
    if cases.mapper.cipher:
        raw = cases.mapper.cipher.decrypt(raw)
    if cases.mapper.compressor:
        raw = cases.mapper.compressor.decompress(raw)
    decoded: dict[str, Any] = cases.mapper.transcoder.decode(raw)
    return decoded


CURRENT_V1 = {"amount": "35.00", "currency": "CNY", "reason": "late fee"}
CURRENT_V2 = {"amount": "12.50", "currency": "CNY", "reason": "card fee"}


async def test_an_event_stored_in_an_old_shape_is_published_and_consumed_upcast(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    case_id = await asyncio.to_thread(workload.open, "L-upcast")  # version 1
    await asyncio.to_thread(store_v1, cases, case_id, 2)
    await asyncio.to_thread(store_v2, cases, case_id, 3)
    old = stored_state(cases, case_id, 2)
    assert "class_version" not in old
    assert old["note"] == "late fee"
    assert "currency" not in old
    assert stored_state(cases, case_id, 3)["class_version"] == 2
    stored = store_events(cases)
    assert [v for _, v, _ in stored] == [1, 2, 3]

    async with running_relay(relay_settings, cases):
        records = await read_topic(
            relay_settings.kafka_bootstrap_servers, relay_settings.relay_topic, expected=3
        )
    fees = [e for _, e, _ in records if e.type == "collections.case.FeeCharged"]
    assert [(e.caseversion, e.classversion) for e in fees] == [(2, 2), (3, 2)]
    assert [dict(e.data) for e in fees] == [CURRENT_V1, CURRENT_V2]
    assert fees[0].id != fees[1].id

    # The feed serves the same envelopes (rebuilds and gap filling see the current shape).
    feed = feed_client(relay_settings, cases)
    try:
        page = await feed.page(0, 10)
    finally:
        await feed.aclose()
    assert [e.to_dict() for e in page.envelopes] == [e.to_dict() for _, e, _ in records]

    # A consumer receives the current shape.
    received: list[Envelope] = []

    async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
        received.append(envelope)

    async with running_consumer(relay_settings, read_model_engine, "c-upcast", handler):
        await eventually(lambda: asyncio.sleep(0, len(received) >= 3))
    got = [(e.caseversion, e.classversion, json.loads(json.dumps(dict(e.data)))) for e in received]
    assert got[1:] == [(2, 2, CURRENT_V1), (3, 2, CURRENT_V2)]
