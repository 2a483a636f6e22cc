"""`arrears.messaging.rebuild` end to end: a read model rebuilt from case-service's
`GET /v1/events` equals the one a consumer built live from Kafka, and when the consumer
resumes from its committed offsets the hand-over has no gap and no double."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from arrears.messaging import Applier, Envelope, rebuild
from arrears.messaging.envelope import case_event
from arrears.messaging.gaps import FeedPage
from case_service.application import CaseApplication
from case_service.relay import RelaySettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .conftest import Workload, eventually, read_model, recording_handler, running_relay
from .conftest import store_events as stored_now
from .test_consumer import feed_client, running_consumer
from .test_consumer_process import commands_flowing

SUMMARY_DDL = (
    "CREATE TABLE IF NOT EXISTS rm_case_summary ("
    " consumer text NOT NULL, case_id text NOT NULL, events int NOT NULL,"
    " last_version int NOT NULL, last_type text NOT NULL, missed numeric NOT NULL,"
    " PRIMARY KEY (consumer, case_id))"
)


def summary_handler(consumer: str) -> Any:
    """Two read models: every event as a row (a double breaks its primary key) and a
    per-case summary derived from the events' data (missed amounts added up)."""
    record = recording_handler(consumer)

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        await record(conn, envelope)
        missed = envelope.data.get("amount") if envelope.event_name == "PaymentMissed" else None
        await conn.execute(
            text(
                "INSERT INTO rm_case_summary AS s (consumer, case_id, events, last_version,"
                " last_type, missed) VALUES (:c, :s, 1, :v, :t, CAST(:m AS numeric))"
                " ON CONFLICT (consumer, case_id) DO UPDATE SET events = s.events + 1,"
                " last_version = EXCLUDED.last_version, last_type = EXCLUDED.last_type,"
                " missed = s.missed + EXCLUDED.missed"
            ),
            {
                "c": consumer,
                "s": envelope.subject,
                "v": envelope.caseversion,
                "t": envelope.event_name,
                "m": missed or "0",
            },
        )

    return handle


async def summaries(engine: AsyncEngine, consumer: str) -> dict[str, tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT case_id, events, last_version, last_type, missed FROM rm_case_summary"
                " WHERE consumer = :c"
            ),
            {"c": consumer},
        )
        return {r.case_id: tuple(r)[1:] for r in rows}


async def test_rebuild_from_the_feed_equals_the_live_model_and_hands_over_to_kafka(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
    kafka_group_timeouts: dict[str, int],
) -> None:
    async with read_model_engine.begin() as conn:
        await conn.execute(text(SUMMARY_DDL))
    case_ids = await asyncio.to_thread(workload.portfolio, 10, 2)
    live, rebuilt = "c-live", "c-rebuilt"
    gaps = feed_client(relay_settings, cases)
    feed = feed_client(relay_settings, cases)
    timeouts: dict[str, Any] = dict(kafka_group_timeouts)
    try:
        async with (
            running_relay(relay_settings, cases),
            running_consumer(
                relay_settings, read_model_engine, live, summary_handler(live), **timeouts
            ),
        ):
            # Both consumers build their models from Kafka; then `rebuilt` stops (offsets
            # committed) while commands go on, and is rebuilt from the feed as they arrive.
            async with running_consumer(
                relay_settings, read_model_engine, rebuilt, summary_handler(rebuilt), **timeouts
            ):
                await eventually(lambda: _has(read_model_engine, rebuilt, 30))
            async with commands_flowing(workload, case_ids):
                await eventually(lambda: _has(read_model_engine, live, 45))
                applier = Applier(consumer=rebuilt, handler=summary_handler(rebuilt))
                report = await rebuild(
                    read_model_engine, applier, feed, _reset(rebuilt), page_size=7
                )
                assert report.events == report.applied >= 45
                # What the rebuild reached equals the live model up to that point.
                await eventually(
                    lambda: _reached(read_model_engine, live, report.sequence, report.events)
                )
                reached = await _upto(read_model_engine, live, report.sequence)
                assert await read_model(read_model_engine, rebuilt) == reached
                assert [(c, v, s) for c, v, s in stored_now(cases) if s <= report.sequence] == [
                    (c, v, s) for c, v, s in reached
                ]
                await asyncio.sleep(1.0)  # more commands after the rebuild's last page
            stored = stored_now(cases)
            assert stored[-1][2] > report.sequence

            # Hand-over: the consumer resumes from its committed offsets.
            async with running_consumer(
                relay_settings,
                read_model_engine,
                rebuilt,
                summary_handler(rebuilt),
                gaps=gaps,
                **timeouts,
            ) as consumer:
                await eventually(lambda: _has(read_model_engine, rebuilt, len(stored)), timeout=60)
                await eventually(lambda: _has(read_model_engine, live, len(stored)), timeout=60)
                totals = consumer.totals
                # Everything Kafka redelivered up to the rebuild's reach was skipped...
                assert totals.duplicates > 0
                # ...everything after it applied once, none parked (a double would break the
                # primary key and land on the DLQ), nothing missing.
                assert totals.parked == []
                assert totals.failures == 0
                assert totals.gap_filled == 0
                assert totals.applied == len(stored) - report.events
    finally:
        await gaps.aclose()
        await feed.aclose()

    rows = await read_model(read_model_engine, rebuilt)
    assert rows == await read_model(read_model_engine, live)
    assert rows == [(c, v, s) for c, v, s in stored]
    assert await summaries(read_model_engine, rebuilt) == await summaries(read_model_engine, live)


def _reset(consumer: str) -> Any:
    async def reset(conn: AsyncConnection) -> None:
        for table in ("rm_case_events", "rm_case_summary"):
            await conn.execute(
                text(f"DELETE FROM {table} WHERE consumer = :c"),
                {"c": consumer},
            )

    return reset


async def _has(engine: AsyncEngine, consumer: str, n: int) -> bool:
    return len(await read_model(engine, consumer)) >= n


async def _upto(engine: AsyncEngine, consumer: str, sequence: int) -> list[tuple[str, int, int]]:
    return [r for r in await read_model(engine, consumer) if r[2] <= sequence]


async def _reached(engine: AsyncEngine, consumer: str, sequence: int, n: int) -> bool:
    return len(await _upto(engine, consumer, sequence)) >= n


class _ListFeed:
    """The feed's paging over a fixed list of envelopes; fails once past `fail_after`."""

    def __init__(self, envelopes: list[Envelope], fail_after: int | None = None) -> None:
        self.envelopes = envelopes
        self.fail_after = fail_after

    async def page(self, after: int, limit: int = 1000) -> FeedPage:
        if self.fail_after is not None and after >= self.fail_after:
            raise ConnectionError("case-service went away")
        found = [e for e in self.envelopes if (e.sequence or 0) > after][:limit]
        last = found[-1].sequence or after if found else after
        return FeedPage(found, last, self.envelopes[-1].sequence or 0)


def _events(n: int) -> list[Envelope]:
    return [
        case_event(
            case_id=f"case-{i % 3}",
            version=i // 3 + 1,
            sequence=i + 1,
            event_name="PaymentMissed",
            occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
            data={"amount": "1.00"},
        )
        for i in range(n)
    ]


async def test_a_rebuild_stops_at_until_and_fails_with_the_feed_without_hanging(
    read_model_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arrears.messaging")
    async with read_model_engine.begin() as conn:
        await conn.execute(text(SUMMARY_DDL))
    consumer = "c-paged"
    applier = Applier(consumer=consumer, handler=recording_handler(consumer))
    feed: Any = _ListFeed(_events(20))
    # Pages are fetched ahead of the one being applied; `until` still ends the rebuild there.
    report = await rebuild(read_model_engine, applier, feed, _reset(consumer), page_size=4, until=9)
    assert (report.events, report.applied, report.sequence) == (9, 9, 9)
    assert [s for _, _, s in await read_model(read_model_engine, consumer)] == list(range(1, 10))
    # It replays history: a line per page applied, none per event.
    lines = [r.getMessage() for r in caplog.records]
    assert not [line for line in lines if " handled " in line]
    assert [line for line in lines if "rebuilt up to" in line] == [
        "c-paged rebuilt up to sequence 4: 4 events",
        "c-paged rebuilt up to sequence 8: 8 events",
        "c-paged rebuilt up to sequence 9: 9 events",
    ]

    # A fetch that fails ends the rebuild with its error once the pages before it are in.
    feed = _ListFeed(_events(20), fail_after=8)
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(
            rebuild(read_model_engine, applier, feed, _reset(consumer), page_size=4), 30
        )
    assert [s for _, _, s in await read_model(read_model_engine, consumer)] == list(range(1, 9))
