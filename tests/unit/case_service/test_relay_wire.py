"""The relay's direct encoding gives the same bytes as the mapper path, for every event of a
busy case, and hands over to the mapper path for what it cannot do alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest
from arrears.messaging.envelope import event_id, format_time
from arrears.messaging.producer import key_hash
from case_service.domain import EVENT_CLASSES
from case_service.pii.mapper import PersonalDataMapper
from case_service.relay import CaseEventEncoder, wire
from case_service.relay.wire import Declined, Row, _time, decode, plain
from eventsourcing.compressor import ZlibCompressor
from hypothesis import example, given
from hypothesis import strategies as st

from .stored import case_transcoder, fresh_cipher
from .test_replay import a_busy_case


def mapper(*, compress: bool) -> PersonalDataMapper:
    compressor = ZlibCompressor() if compress else None
    return PersonalDataMapper(case_transcoder(), compressor, fresh_cipher())


def rows_of(m: PersonalDataMapper) -> list[Row]:
    _, events = a_busy_case()
    rows: list[Row] = []
    for sequence, event in enumerate(events, start=100):
        stored = m.to_stored_event(event)
        correlation = f"req-{sequence}" if sequence % 2 else None
        rows.append(
            (
                sequence,
                str(stored.originator_id),
                stored.originator_version,
                stored.topic,
                stored.state,
                correlation,
            )
        )
    return rows


@pytest.mark.parametrize("compress", [False, True])
def test_direct_encoding_gives_the_mapper_paths_bytes_for_every_event(compress: bool) -> None:
    m = mapper(compress=compress)
    encoder = CaseEventEncoder(m)
    rows = rows_of(m)

    direct = encoder.records(rows)

    assert direct == [encoder.general_record(row) for row in rows]
    assert encoder.wire.declined == 0
    assert len({orjson.loads(r[2])["type"] for r in direct}) > 10
    first = orjson.loads(direct[0][2])
    assert first["id"] == event_id(rows[0][1], rows[0][2])
    assert direct[0][4] == key_hash(str(rows[0][1]).encode())


def test_an_event_stored_in_an_older_class_version_takes_the_mapper_path() -> None:
    m = mapper(compress=False)
    encoder = CaseEventEncoder(m)
    row = rows_of(m)[1]
    state = orjson.loads(m.cipher.decrypt(row[4]) if m.cipher else row[4])
    state["class_version"] = 0  # older than any class: the class's upcasters must run
    stored = m.cipher.encrypt(orjson.dumps(state)) if m.cipher else orjson.dumps(state)
    calls: list[Row] = []

    def spy(r: Row) -> Any:  # the mapper path, where the class's upcasters run
        calls.append(r)
        return (r[0], b"", b"", [], 0)

    encoder.wire.general = spy
    encoder.records([(row[0], row[1], row[2], row[3], stored, row[5])])

    assert [c[0] for c in calls] == [row[0]]
    assert encoder.wire.declined == 1


def test_tagged_values_become_what_the_json_payload_holds() -> None:
    case_id = UUID("12345678-1234-5678-1234-567812345678")
    tagged = {
        "a": {"_type_": "decimal_str", "_data_": "1200.50"},
        "b": [{"_type_": "date_iso", "_data_": "2026-01-02"}],
        "c": {"_type_": "uuid_hex", "_data_": case_id.hex},
        "d": {"_type_": "x", "y": 1},
    }
    assert plain(tagged) == {
        "a": "1200.50",
        "b": ["2026-01-02"],
        "c": str(case_id),
        "d": {"_type_": "x", "y": 1},
    }


@pytest.mark.parametrize("compress", [False, True])
def test_the_feeds_values_are_the_records_values(compress: bool) -> None:
    m = mapper(compress=compress)
    encoder = CaseEventEncoder(m)
    rows = rows_of(m)

    assert encoder.values(rows) == [r[2] for r in encoder.records(rows)]
    assert encoder.values(rows) == [encoder.general_record(row)[2] for row in rows]


@pytest.mark.parametrize(
    "stored",
    [
        # unwrapped in the bytes before parsing
        {
            "a": {"_type_": "decimal_str", "_data_": "1200.50"},
            "b": [{"_type_": "date_iso", "_data_": "2026-01-02"}],
        },
        # text with escapes and non-ASCII inside a tagged value, and text that looks tagged
        {
            "a": {"_type_": "decimal_str", "_data_": 'x"}y\\'},
            "t": '{"_type_":"date_iso","_data_":"1"}',
        },
        {
            "name": 'Zoë {"_type_"',
            "n": {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05+08:00"},
        },
        # left to the walk: a UUID, an object with more members, a key named like the tag
        {"c": {"_type_": "uuid_hex", "_data_": "12345678123456781234567812345678"}},
        {"d": {"_type_": "decimal_str", "_data_": "1", "more": 2}, "_type_": "plain"},
    ],
)
def test_decoding_stored_bytes_gives_what_the_walk_gives(stored: dict[str, Any]) -> None:
    state = orjson.dumps(stored)

    assert decode(state) == plain(orjson.loads(state))


def test_decoding_declines_what_the_walk_declines() -> None:
    with pytest.raises(Declined):
        decode(b'{"a":{"_type_":"unknown","_data_":"1"}}')
    with pytest.raises(Declined):
        decode(b'{"a":{"_type_":"decimal_str","_data_":1}}')
    with pytest.raises(Declined):
        decode(b"[1]")


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-02T03:00:00+00:00",
        "2026-11-02T03:00:00.123456+00:00",
        "2026-11-02T03:00:00.000000+00:00",  # the general path drops whole zero microseconds
        "2026-11-02T03:00:00.5+00:00",
        "2026-11-02T11:00:00+08:00",
        "2026-11-02T03:00:00.123456-05:30",
    ],
)
def test_event_times_are_what_format_time_gives(stored: str) -> None:
    assert _time(stored) == format_time(datetime.fromisoformat(stored))


@given(case_id=st.uuids(), version=st.integers(0, 10**12))
def test_the_wire_event_id_is_the_envelope_one(case_id: UUID, version: int) -> None:
    # Every variant digit and version, by the library's uuid5 (envelope.event_id).
    assert wire.event_id(str(case_id), version) == event_id(case_id, version)


BUSY = mapper(compress=False)
BUSY_ROWS = rows_of(BUSY)


@given(
    index=st.integers(0, len(BUSY_ROWS) - 1),
    sequence=st.integers(0, 2**63 - 1),
    correlation=st.none() | st.text(),
    source=st.text(min_size=1),
)
@example(index=0, sequence=1, correlation='"%s%%\\', source='/x%s%d%%"ü')
def test_the_envelopes_bytes_are_the_envelope_dicts_serialised(
    index: int, sequence: int, correlation: str | None, source: str
) -> None:
    # The bytes written around each event's values from per-class templates: what orjson
    # writes for the general path's Envelope, for every class, any correlation id (quotes,
    # `%`, non-ASCII) and source.
    encoder = CaseEventEncoder(BUSY, source=source)
    _, case_id, version, topic, state, _ = BUSY_ROWS[index]
    row: Row = (sequence, case_id, version, topic, state, correlation)

    assert encoder.values([row]) == [encoder.general_record(row)[2]]
    assert encoder.wire.declined == 0


_TEXTS = st.text(max_size=8) | st.sampled_from(['"', "\\", "}", '{"_type_":"x"}', "é", "\n"])
_TAGGED_VALUES = st.builds(
    lambda kind, data: {"_type_": kind, "_data_": data},
    st.sampled_from(["decimal_str", "date_iso", "datetime_iso", "unknown"]),
    _TEXTS | st.integers(0, 9),
) | st.builds(lambda u: {"_type_": "uuid_hex", "_data_": u.hex}, st.uuids())
_STORED = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXTS | _TAGGED_VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXTS, inner, max_size=3),
    max_leaves=12,
)


@given(stored=st.dictionaries(_TEXTS, _STORED, max_size=5))
def test_decoding_any_stored_state_gives_what_the_walk_gives(stored: dict[str, Any]) -> None:
    # Tagged values anywhere, with quotes, backslashes and braces in their text and keys.
    state = orjson.dumps(stored)
    try:
        expected: Any = plain(orjson.loads(state))
    except Declined:
        expected = Declined
    try:
        found: Any = decode(state)
    except Declined:
        found = Declined
    assert found == expected


def test_the_usual_events_are_read_by_their_stored_shape() -> None:
    # The busy case's events of classes with a shape (plain fields, nothing personal) match
    # it: the byte comparisons above go through the shaped path, not only the parse.
    encoder = CaseEventEncoder(BUSY)
    matched, shaped = set(), set()
    for _, _, _, topic, state, _ in BUSY_ROWS:
        kind = encoder.wire._kind(topic)
        if kind.shape is not None:
            shaped.add(topic)
            if kind.shape.fullmatch(BUSY.cipher.decrypt(state) if BUSY.cipher else state):
                matched.add(topic)
    assert matched == shaped
    assert len(matched) >= 6
    assert encoder.wire._kind(BUSY_ROWS[0][3]).shape is None  # CaseOpened: nested, personal


_ANY_TEXT = st.text(max_size=12) | st.sampled_from(['"', "\\", "%s", "é€", "\n", "\u2028", "}"])


@given(
    installment=st.integers(-(2**63), 2**63 - 1),
    currency=_ANY_TEXT,
    amount=st.decimals(allow_nan=False, allow_infinity=False),
    moment=st.datetimes(timezones=st.just(UTC) | st.timezones()),
    placed_by=st.none() | _ANY_TEXT,
    interrupts=st.booleans(),
)
@example(
    installment=10**18, currency="CNY", amount=Decimal("1E+3"), moment=datetime(2026, 1, 1),
    placed_by=None, interrupts=True,
)  # fmt: skip
def test_the_shaped_path_gives_the_mapper_paths_bytes(
    installment: int,
    currency: str,
    amount: Decimal,
    moment: datetime,
    placed_by: str | None,
    interrupts: bool,
) -> None:
    # Values of every kind the shapes take, and what they must refuse (escapes, big whole
    # numbers, times not in UTC or without an offset): the same bytes either way.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    case_id = UUID("12345678-1234-5678-1234-567812345678")
    common = {"originator_id": case_id, "originator_version": 2, "timestamp": moment}
    events = [
        EVENT_CLASSES["PaymentMissed"](
            **common, installment=installment, due_date=date(2026, 1, 2), amount=amount,
            currency=currency,
        ),
        EVENT_CLASSES["LegalHoldPlaced"](**common, hold_id=currency, basis="b", placed_by=placed_by),
        EVENT_CLASSES["NoticeServed"](
            **common, kind="k", delivered_via=currency, served_at=moment, proof=placed_by,
            interrupts_limitation=interrupts,
        ),
    ]  # fmt: skip
    encoder = CaseEventEncoder(BUSY)
    for sequence, event in enumerate(events, start=1):
        stored = BUSY.to_stored_event(event)
        row: Row = (sequence, str(case_id), 2, stored.topic, stored.state, None)
        assert encoder.values([row]) == [encoder.general_record(row)[2]]
