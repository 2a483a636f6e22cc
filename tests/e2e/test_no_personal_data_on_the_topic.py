"""After the whole one-case story (tests/e2e/test_one_case_story.py), the public case-events
topic, read from its start by a consumer with no key, holds no name, address or phone number
in clear: each is a sealed value with a pseudonymous reference (docs/messaging.md). Nor do
contact-service's and legal-service's databases, nor any service's log."""

from __future__ import annotations

import asyncio
import json

import psycopg
from aiokafka import AIOKafkaConsumer

from . import test_one_case_story as story
from .system import System
from .test_case_lifecycle import open_body

pytestmark = story.pytestmark


async def _whole_topic(system: System, topic: str, quiet_seconds: float = 3.0) -> list[bytes]:
    """Every message of `topic` from its start, until none has come for `quiet_seconds`."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=system.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[bytes] = []
    idle = 0.0
    try:
        while idle < quiet_seconds:
            batches = await consumer.getmany(timeout_ms=500)
            new = [r.value for records in batches.values() for r in records if r.value]
            found.extend(new)
            idle = 0.0 if new else idle + 0.5
    finally:
        await consumer.stop()
    return found


def test_the_case_events_topic_holds_no_personal_data_in_clear(system: System) -> None:
    story.test_one_case_from_first_missed_payment_to_write_off(system)
    borrower = open_body(story.LOAN)["borrower"]
    clear = [borrower["name"], borrower["address"], story.PHONE, story.PHONE.lstrip("+")]

    messages = asyncio.run(_whole_topic(system, system.topics["case_events"]))

    assert len(messages) >= len(story.STORY)
    for raw in messages:
        for value in clear:
            assert value.encode() not in raw, json.loads(raw)["type"]
    opened = next(json.loads(m) for m in messages if b"CaseOpened" in m)
    assert set(opened["data"]["borrower"]["name"]) == {"ref", "enc", "key_id"}
    for database in ("contact", "legal"):
        dump = _every_row(system.databases[database])
        for value in clear:
            assert value not in dump, (database, value)
    for name, service in system.services.items():
        logged = service.log.read_text()
        for value in clear:
            assert value not in logged, (name, value)


def _every_row(url: str) -> str:
    """Every row of every table in the public schema, as text."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        return "\n".join(
            str(conn.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables
        )
