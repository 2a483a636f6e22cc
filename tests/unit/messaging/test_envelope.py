"""The CloudEvents envelope: stable ids, exact attributes, strict parsing."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
from arrears.messaging import envelope as envelope_module
from arrears.messaging.envelope import (
    Envelope,
    EnvelopeError,
    case_event,
    event_id,
    from_dict,
    from_parsed,
    from_parsed_all,
    parse,
)
from hypothesis import given
from hypothesis import strategies as st

CASE = uuid.UUID("0b6c2f0e-0d0c-4a64-9a8e-2f7c1d1e5a01")


def make(version: int = 3, **overrides: object) -> dict[str, object]:
    envelope = case_event(
        case_id=CASE,
        version=version,
        sequence=41,
        event_name="PaymentMissed",
        occurred_at=datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC),
        data={"amount": "1200.00", "currency": "CNY"},
        correlation_id="corr-1",
    ).to_dict()
    envelope.update(overrides)
    return envelope


def test_the_same_event_always_gets_the_same_id() -> None:
    assert make()["id"] == make()["id"] == event_id(CASE, 3)
    assert make(version=4)["id"] != make(version=3)["id"]


def test_carries_the_attributes_design_section_4_names() -> None:
    envelope = make()
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "collections.case.PaymentMissed"
    assert envelope["subject"] == str(CASE)
    assert envelope["time"] == "2026-11-02T09:00:00.123456Z"
    assert envelope["datacontenttype"] == "application/json"
    assert str(envelope["dataschema"]).endswith("/collections.case.PaymentMissed.json")
    assert (envelope["sequence"], envelope["caseversion"]) == (41, 3)
    assert envelope["correlationid"] == "corr-1"


def test_round_trips_through_json() -> None:
    parsed = parse(orjson.dumps(make()))
    assert parsed.to_dict() == make()
    assert parsed.event_name == "PaymentMissed"


def test_parses_to_the_same_envelope_as_the_constructor_and_stays_frozen() -> None:
    built = case_event(
        case_id=CASE,
        version=3,
        sequence=41,
        event_name="PaymentMissed",
        occurred_at=datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC),
        data={"amount": "1200.00", "currency": "CNY"},
        correlation_id="corr-1",
        personal_data=("borrower", "guarantors"),
    )
    parsed = parse(built.to_json())
    assert parsed == built
    assert parse(orjson.dumps(make(extra="x"))).extensions == {"extra": "x"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.subject = "another"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{nope", "not JSON"),
        (b"[]", "JSON object"),
        (orjson.dumps(make(specversion="0.3")), "specversion"),
        (orjson.dumps({k: v for k, v in make().items() if k != "id"}), "id"),
        (orjson.dumps(make(caseversion="3")), "caseversion must be an integer"),
        (orjson.dumps(make(time="yesterday")), "RFC 3339"),
        (orjson.dumps(make(data=[1])), "data must be a JSON object"),
        (orjson.dumps(make(sequence=True)), "sequence must be an integer"),
        (orjson.dumps(make(classversion=1.0)), "classversion must be an integer"),
        (orjson.dumps(make(subject="")), "subject must be a non-empty string"),
        (orjson.dumps(make(personaldata=["borrower"])), "personaldata must be a non-empty"),
        (orjson.dumps(make(time="2026-11-02T09:00:00")), "UTC offset"),
        (orjson.dumps(make(type=7)), "type must be a string"),
        (None, "tombstone"),
    ],
)
def test_rejects_what_is_not_an_arrears_cloudevent(raw: bytes | None, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse(raw)


# Each attribute as the feed and Kafka carry it (`...`: left out), and what may be off in
# it (a wrong type, empty, missing), for the fast path and the careful one to agree on.
_GOOD: dict[str, list[object]] = {
    "specversion": ["1.0"],
    "id": ["e-1"],
    "source": ["/arrears/case-service"],
    "type": ["collections.case.PaymentMissed"],
    "subject": [str(CASE), ...],
    "time": ["2026-11-02T09:00:00.123456Z", "2026-11-02T09:00:00+08:00", None, ...],
    "datacontenttype": ["application/json", "text/plain", None, ...],
    "dataschema": ["https://schemas.arrears.example/x.json", None, ...],
    "sequence": [41, 0, None, ...],
    "caseversion": [3, -1, None, ...],
    "classversion": [1, 2, None, ...],
    "correlationid": ["corr-1", None, ...],
    "personaldata": ["borrower,guarantors", "contact_point", None, ...],
    "data": [{"amount": "1200.00"}, {}, ...],
    "an_extension": [..., ..., ..., "x", None],
}
_OFF: dict[str, list[object]] = {
    "specversion": ["0.3", None, ...],
    "id": ["", 7, ...],
    "source": [None, ...],
    "type": [7, ""],
    "subject": ["", 3],
    "time": ["2026-11-02T09:00:00", "yesterday", 5],
    "datacontenttype": [""],
    "dataschema": ["", 1],
    "sequence": [True, "41", 1.0],
    "caseversion": ["3"],
    "classversion": [2.0],
    "correlationid": [""],
    "personaldata": ["", ["borrower"]],
    "data": [[1], None, "x"],
}


def _fields(envelope: Envelope) -> tuple[object, ...]:
    return tuple(getattr(envelope, f.name) for f in dataclasses.fields(Envelope))


def _outcome(read: Callable[[], Envelope]) -> tuple[object, ...] | str:
    try:
        return _fields(read())
    except EnvelopeError:
        return "refused"


@given(st.data())
def test_the_fast_parse_gives_what_the_careful_one_gives(data: st.DataObject) -> None:
    """`from_dict` (and `from_parsed` and a page's `from_parsed_all`, which keep the
    record's dict as the envelope's) against `_parse_carefully`, attribute by attribute,
    defaults included: on records as they come, and with up to two attributes off."""
    chosen = {name: data.draw(st.sampled_from(values)) for name, values in _GOOD.items()}
    for name in data.draw(st.sets(st.sampled_from(sorted(_OFF)), max_size=2)):
        chosen[name] = data.draw(st.sampled_from(_OFF[name]))
    raw = {name: value for name, value in chosen.items() if value is not ...}
    careful = _outcome(lambda: envelope_module._parse_carefully(dict(raw)))
    assert _outcome(lambda: from_dict(dict(raw))) == careful
    assert _outcome(lambda: from_parsed(dict(raw))) == careful
    assert _outcome(lambda: from_parsed_all([dict(raw)])[0]) == careful
    assert _outcome(lambda: parse(orjson.dumps(raw))) == careful
    if careful != "refused":
        assert from_parsed(dict(raw)) == envelope_module._parse_carefully(dict(raw))
