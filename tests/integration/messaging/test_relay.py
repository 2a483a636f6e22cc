"""The relay publishes every stored event, keyed by case, in order, and saves its position."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
from arrears.messaging.envelope import event_id
from case_service.application import CaseApplication
from case_service.relay import RelaySettings, RelayStore, runner

from .conftest import Workload, assert_valid, eventually, read_topic, running_relay, store_events


def saved_position(cases: CaseApplication, name: str = "case-events") -> int:
    store = RelayStore(cases.recorder_)
    return store.position(name)


async def test_publishes_every_event_keyed_by_case_in_order(
    relay_settings: RelaySettings, cases: CaseApplication, workload: Workload
) -> None:
    case_ids = workload.portfolio(n_cases=6, missed_each=3)
    workload.pay(case_ids[0], "R-1")
    stored = store_events(cases)
    assert len(stored) == 25

    async with running_relay(relay_settings, cases):
        await eventually(lambda: _at(cases, stored[-1][2]))
    records = await read_topic(
        relay_settings.kafka_bootstrap_servers, relay_settings.relay_topic, expected=25
    )

    assert len(records) == 25
    assert {e.type for _, e, _ in records} == {
        "collections.case.CaseOpened",
        "collections.case.PaymentMissed",
        "collections.case.PaymentReceived",
    }
    by_case: dict[str, list[int]] = defaultdict(list)
    for key, envelope, headers in records:
        assert key is not None
        assert key.decode() == envelope.subject
        assert envelope.id == event_id(envelope.subject or "", envelope.caseversion or 0)
        assert envelope.source == "/arrears/case-service"
        assert envelope.type.startswith("collections.case.")
        assert ("content-type", b"application/cloudevents+json; charset=UTF-8") in headers
        assert_valid(envelope)
        by_case[envelope.subject or ""].append(envelope.caseversion or 0)
    assert by_case.pop(str(case_ids[0])) == [1, 2, 3, 4, 5]
    assert all(versions == [1, 2, 3, 4] for versions in by_case.values())
    assert {(e.subject, e.caseversion, e.sequence) for _, e, _ in records} == set(stored)


async def test_worker_processes_encode_ranges_ahead_and_the_topic_keeps_each_cases_order(
    relay_settings: RelaySettings, cases: CaseApplication, workload: Workload
) -> None:
    case_ids = workload.portfolio(n_cases=5, missed_each=4)
    stored = store_events(cases)
    # Two worker processes, ranges of 3 ids, four ranges ahead: many ranges in flight at once.
    settings = relay_settings.model_copy(
        update={"relay_decoders": 2, "relay_batch_size": 3, "relay_pipeline_depth": 4}
    )

    async with running_relay(settings, cases):
        await eventually(lambda: _at(cases, stored[-1][2]), timeout=60)
    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.relay_topic, expected=len(stored)
    )

    by_case: dict[str, list[int]] = defaultdict(list)
    for _, envelope, _ in records:
        by_case[envelope.subject or ""].append(envelope.caseversion or 0)
    assert sorted(by_case) == sorted(str(c) for c in case_ids)
    assert all(versions == [1, 2, 3, 4, 5] for versions in by_case.values())
    assert saved_position(cases) == stored[-1][2]


@pytest.mark.parametrize(("batch", "ahead"), [(200, False), (10, True)])
async def test_a_backlog_under_a_batch_is_read_in_the_relays_process(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    ahead: bool,
) -> None:
    """Past a caught-up read's limit, a backlog under a batch is read on in the relay's own
    process (no worker process to start); a batch's worth or more goes to the read-ahead."""
    workload.portfolio(n_cases=6, missed_each=3)
    stored = store_events(cases)
    assert len(stored) == 24
    monkeypatch.setattr(runner, "FOLLOWING_MAX", 5)
    ranges: list[tuple[int, int]] = []
    encode = runner.Decoders.encode

    def counted(self: runner.Decoders, after: int, upto: int) -> object:
        ranges.append((after, upto))
        return encode(self, after, upto)

    monkeypatch.setattr(runner.Decoders, "encode", counted)
    settings = relay_settings.model_copy(update={"relay_batch_size": batch})

    async with running_relay(settings, cases):
        await eventually(lambda: _at(cases, stored[-1][2]))
    records = await read_topic(settings.kafka_bootstrap_servers, settings.relay_topic, expected=24)

    assert sorted((e.subject, e.caseversion) for _, e, _ in records) == sorted(
        (case, version) for case, version, _ in stored
    )
    assert bool(ranges) is ahead


async def _at(cases: CaseApplication, position: int) -> bool:
    return await asyncio.to_thread(saved_position, cases) >= position


async def test_wakes_on_notify_instead_of_polling(
    relay_settings: RelaySettings, cases: CaseApplication, workload: Workload
) -> None:
    settings = relay_settings.model_copy(update={"relay_idle_poll_seconds": 60.0})
    async with running_relay(settings, cases) as relay:
        await asyncio.wait_for(relay.ready.wait(), 10)
        await asyncio.sleep(0.3)  # let it go idle: nothing to read, waiting on NOTIFY
        started = time.monotonic()
        await asyncio.to_thread(workload.open, "L-notify")
        await eventually(lambda: _at(cases, 1), timeout=5)
        assert time.monotonic() - started < 5  # far below the 60 s poll interval


async def test_a_lost_position_republishes_with_the_same_ids(
    relay_settings: RelaySettings, cases: CaseApplication, workload: Workload
) -> None:
    workload.portfolio(n_cases=2, missed_each=2)
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _at(cases, 6))
    with cases.recorder_.datastore.transaction(commit=True) as curs:
        curs.execute("DELETE FROM relay_position")
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _at(cases, 6))

    records = await read_topic(
        relay_settings.kafka_bootstrap_servers, relay_settings.relay_topic, expected=12
    )
    ids = [e.id for _, e, _ in records]
    assert len(ids) == 12
    assert len(set(ids)) == 6  # each event twice, with one id


@pytest.mark.slow
async def test_broker_down_for_ten_seconds_loses_nothing(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    embedded_broker: object,
) -> None:
    broker = embedded_broker
    case_ids = await asyncio.to_thread(workload.portfolio, 4, 1, "A")
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _at(cases, 8))
        await asyncio.to_thread(broker.stop)  # type: ignore[attr-defined]
        try:
            outage_ends = time.monotonic() + 10
            installment = 2
            while time.monotonic() < outage_ends:  # commands keep arriving
                for case_id in case_ids:
                    await asyncio.to_thread(workload.miss, case_id, installment)
                installment += 1
                await asyncio.sleep(0.5)
            assert await asyncio.to_thread(saved_position, cases) == 8  # waited, not advanced
        finally:
            await asyncio.to_thread(broker.start)  # type: ignore[attr-defined]
        last = store_events(cases)[-1][2]
        await eventually(lambda: _at(cases, last), timeout=60)

    stored = store_events(cases)
    during_outage = [s for s in stored if s[2] > 8]
    records = await read_topic(
        relay_settings.kafka_bootstrap_servers,
        relay_settings.relay_topic,
        expected=len(during_outage),
    )
    published = [(e.subject, e.caseversion, e.sequence) for _, e, _ in records]
    assert sorted(set(published), key=lambda p: p[2]) == during_outage
    for case_id in case_ids:
        versions = [v for s, v, _ in published if s == str(case_id)]
        assert versions == sorted(versions)  # in order per case
