"""The public topic carries personal values sealed per subject: a consumer with no key reads
everything else unchanged; one entitled to the key (service role) opens them; after erasure
the key endpoint answers 410 and the values stay unreadable."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from arrears.clock import ManualClock
from arrears.messaging.personal import SubjectKeyClient, is_sealed
from case_service.api.app import create_app
from case_service.application import CaseApplication
from case_service.commands import Command
from case_service.erasure import run_erasure
from case_service.relay import RelaySettings

from ..subject_keys_support import count_single_key_requests
from .conftest import Workload, running_relay, service_token

CLEAR = ("Li Wei", "1 Renmin Road", "+8613800000001", "+8613700000009", "left a message")


async def raw_topic(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return out


def keys_client(cases: CaseApplication) -> SubjectKeyClient:
    app = create_app(cases.settings, application=cases)
    app.state.cases = cases  # the ASGI transport runs no lifespan
    return SubjectKeyClient(
        "http://case-service", service_token, transport=httpx.ASGITransport(app=app)
    )


def a_reached_and_closed_case(workload: Workload, cases: CaseApplication) -> Any:
    case_id = workload.open("L-pii")
    now = cases.clock.now()

    def reach_and_close(case: Any) -> None:
        # The spouse's number, learnt later: a call goes only to a number the case knows.
        case.add_contact_point(
            number="+8613700000009", kind="mobile", owner="spouse", source="borrower", now=now
        )
        case.record_contact_attempt(
            channel="call",
            party="spouse",
            contact_point="+8613700000009",
            outcome="no_answer",
            occurred_at=now,
            notes="left a message",
            now=now,
        )
        case.close(reason="settled", closed_at=now, now=now)

    outcome = cases.execute(Command(case_id, reach_and_close))
    assert outcome.error is None, outcome.error
    return case_id


async def test_the_topic_carries_no_personal_value_in_clear_and_erasure_makes_it_unreadable(
    cases: CaseApplication,
    workload: Workload,
    relay_settings: RelaySettings,
    kafka_bootstrap_servers: str,
    topic: str,
) -> None:
    a_reached_and_closed_case(workload, cases)
    async with running_relay(relay_settings, cases):
        # CaseOpened, ContactPointAdded, ContactAttempted, CaseClosed
        messages = await raw_topic(kafka_bootstrap_servers, topic, expected=4)
    assert len(messages) == 4
    for raw in messages:
        for value in CLEAR:
            assert value.encode() not in raw
    opened_event = json.loads(messages[0])
    borrower = opened_event["data"]["borrower"]
    assert is_sealed(borrower["name"])
    assert is_sealed(borrower["phones"][0]["number"])
    assert borrower["timezone"] == "Asia/Shanghai"  # what needs no personal data stays readable
    assert opened_event["data"]["principal"] == "100000.00"
    attempt = json.loads(messages[2])["data"]
    assert attempt["contact_point"]["ref"] == borrower["name"]["ref"]  # one subject, one ref

    entitled = keys_client(cases)
    try:
        clear = await entitled.open(opened_event["data"])
        assert clear["borrower"]["name"] == "Li Wei"
        assert (await entitled.open(attempt))["notes"] == "left a message"
    finally:
        await entitled.aclose()

    assert isinstance(cases.clock, ManualClock)
    cases.clock.advance(timedelta(days=5 * 366))
    assert run_erasure(cases).erased
    async with running_relay(relay_settings, cases):
        after = await raw_topic(kafka_bootstrap_servers, topic, expected=5)
    assert json.loads(after[-1])["type"] == "collections.case.PersonalDataErased"
    late = keys_client(cases)  # a consumer reading the topic after erasure
    try:
        assert await late.key(borrower["name"]["key_id"]) is None  # case-service said 410
        erased = await late.open(json.loads(after[0])["data"])
        assert erased["borrower"]["name"] == "[erased]"
        assert erased["borrower"]["phones"][0]["number"] == "[erased]"
    finally:
        await late.aclose()


async def test_prefetch_caches_many_subjects_keys_in_batch_reads_within_its_bound(
    cases: CaseApplication, workload: Workload
) -> None:
    assert cases.subject_keys is not None
    refs = [cases.subject_keys.ref(workload.open(f"L-pre-{n}"), "borrower") for n in range(3)]
    app = create_app(cases.settings, application=cases)
    app.state.cases = cases  # the ASGI transport runs no lifespan
    keys = SubjectKeyClient(
        "http://case-service",
        service_token,
        max_keys=3,
        transport=httpx.ASGITransport(app=app),
    )
    singles = count_single_key_requests(keys)
    try:
        assert await keys.prefetch([refs[0], refs[0], "not a key id"]) == 1
        # Full: the oldest entry makes room, the page's keys just fetched stay.
        assert await keys.prefetch([refs[1], refs[2], "0" * 32]) == 3
        assert await keys.prefetch(refs[1:]) == 0  # cached: nothing asked
        assert [await keys.key(r) is not None for r in refs[1:]] == [True, True]
        assert await keys.key("0" * 32) is None  # unknown, as the single read's 404
        assert singles == []
        assert await keys.key(refs[0]) is not None  # evicted: asked again, one by one
        assert singles == [f"/v1/subject-keys/{refs[0]}"]
    finally:
        await keys.aclose()
