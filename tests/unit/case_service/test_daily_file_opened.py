"""The daily file's cold read of a case's opening (daily_file/opened.py) against the reading
mapper and the library's replay: on generated cases, and on stored openings of every shape
(older versions, other fields, transcoded values anywhere, damaged bytes), the very same
case, or None and the mapper reads it."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from case_service.daily_file.bulk import DailyFileWriter
from case_service.daily_file.fast import FastReplay
from case_service.daily_file.opened import LeanOpened, _long_number
from case_service.domain import CollectionCase, DomainError
from case_service.domain.events import CaseOpened
from case_service.domain.policy import DEFAULT_POLICY, CasePolicy
from case_service.pii.fields import seal
from case_service.pii.mapper import PersonalDataMapper
from case_service.replay import replayed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .stored import case_transcoder, fresh_cipher
from .test_daily_file_fast import _step, histories

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _mappers(ciphered: bool) -> tuple[PersonalDataMapper, PersonalDataMapper]:
    """The application's mapper (which wrote the records) and its reading view (bulk.py's)."""
    cipher = fresh_cipher() if ciphered else None
    application = PersonalDataMapper(case_transcoder(), None, cipher)
    return application, application.sealed_view()


MAPPERS = {ciphered: _mappers(ciphered) for ciphered in (True, False)}
SEALER = AESGCM(AESGCM.generate_key(256))

POLICIES = [
    DEFAULT_POLICY,
    dataclasses.replace(DEFAULT_POLICY, max_claim_multiple=Decimal("2.50")),
    dataclasses.replace(
        DEFAULT_POLICY,
        business_timezone="America/Los_Angeles",
        lost_contact_caller_lines=("US-RegF",),
        promise_horizon_days=14,
    ),
]
# Text as a borrower's record may hold it: quotes, backslashes, control characters (written
# as \u escapes), other scripts, the transcodings' own key names.
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ['"_type_"', "_type_", '{"_type_": "decimal_str"}', "a\\u0041", "李伟", "\x01"]
    ),
)
plain_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        texts,
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
# A collateral as the opening accepts it: Decimal and date leaves (transcoded), no floats.
collaterals = st.dictionaries(
    texts,
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**40), max_value=2**40),
            st.decimals(allow_nan=False, allow_infinity=False, places=2),
            st.dates(),
            texts,
        ),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=6,
    ),
    min_size=1,
    max_size=3,
)
words = texts.filter(lambda s: bool(s.strip()))  # what the opening's checks accept
phones = st.lists(st.fixed_dictionaries({"number": words, "kind": st.just("home")}), max_size=2)


@st.composite
def openings(draw: st.DrawFn) -> dict[str, Any]:
    """What `CollectionCase.open` is given (it checks and normalises it, as for any case)."""
    name = draw(words)
    borrower: dict[str, Any] = {
        "id": "B-1",
        "name": name,
        "timezone": "Asia/Shanghai",
        "address": draw(st.none() | words),
        "phones": draw(phones),
        "candidate_timezones": draw(st.sampled_from([[], ["Asia/Tokyo"]])),
    }
    if draw(st.booleans()):
        borrower["country"] = draw(st.sampled_from(["CN", "US", "GB"]))
    guarantors = [
        {"id": f"G-{n}", "name": name, "phones": draw(phones)}
        for n in range(draw(st.integers(0, 2)))
    ]
    currency = draw(st.sampled_from(["CNY", "JPY", "USD"]))
    return {
        "loan_id": draw(st.sampled_from(["L-1", "L-李-2", 'L-"3"'])),
        "product": draw(st.sampled_from(["consumer_loan", "mortgage"])),
        "currency": currency,
        "principal": Decimal("5000") if currency == "JPY" else Decimal("100000.00"),
        "borrower": borrower,
        "guarantors": guarantors,
        "collateral": draw(st.none() | collaterals),
        "policy": draw(st.sampled_from(POLICIES)),
        "jurisdiction": draw(st.sampled_from([None, "UK-CONC"])),
    }


def _opened(opening: dict[str, Any]) -> CollectionCase:
    return CollectionCase.open(**opening, now=NOW)


def _state(case: CollectionCase) -> str:
    """Everything the case holds, pending events included, Decimal places and order kept."""
    return repr(sorted(vars(case).items(), key=lambda kv: kv[0])) + repr(
        [list(vars(e).items()) for e in case.pending_events]
    )


def _by_mapper(reader: PersonalDataMapper, records: list[StoredEvent]) -> CollectionCase | None:
    return replayed(None, (reader.to_domain_event(r) for r in records))


def _record(writer: PersonalDataMapper, case_id: UUID, state: dict[str, Any]) -> StoredEvent:
    """A stored CaseOpened whose state is `state` as given, written as the mapper writes."""
    plain = writer.transcoder.encode(state)
    return StoredEvent(
        case_id, 1, get_topic(CaseOpened), writer.cipher.encrypt(plain) if writer.cipher else plain
    )


def _opening_state(case: CollectionCase) -> dict[str, Any]:
    """The state the mapper writes for the case's opening (before JSON)."""
    event = case.pending_events[0]
    state = dict(vars(event))
    del state["originator_id"], state["originator_version"]
    state["class_version"] = 2
    return copy.deepcopy(state)


def _may_be_left(plain: bytes) -> bool:
    """A \\u escape or a number that may not fit 64 bits: the lean read may leave these."""
    return b"\\u" in plain or re.search(rb"[0-9]{19}", plain) is not None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=8),
            st.text(alphabet="0123456789", min_size=15, max_size=22).map(str.encode),
        ),
        max_size=12,
    )
)
def test_a_long_number_is_found_as_the_regex_finds_19_digits_in_a_row(parts: list[bytes]) -> None:
    # The lean read's quick test (a translate and a substring search) says what the
    # regex says, on runs of digits either side of 19 among other bytes.
    plain = b"".join(parts)
    assert _long_number(plain) is (re.search(rb"[0-9]{19}", plain) is not None)


def _agrees(lean: LeanOpened, reader: PersonalDataMapper, record: StoredEvent) -> bool:
    """The lean read gives the mapper's case, or None; True: it gave a case."""
    got = lean.case(record)
    try:
        expected = _by_mapper(reader, [record])
    except Exception:
        assert got is None  # what the mapper refuses is left to the mapper, which says why
        return False
    if got is None:
        return False
    assert expected is not None
    assert type(got) is type(expected)
    assert _state(got) == _state(expected)
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openings(), st.booleans())
def test_an_opening_reads_lean_into_the_case_the_mapper_and_replay_give(
    opening: dict[str, Any], ciphered: bool
) -> None:
    writer, reader = MAPPERS[ciphered]
    case = _opened(opening)
    record = writer.to_stored_event(case.pending_events[0])
    plain = writer.cipher.decrypt(record.state) if writer.cipher else record.state
    taken = _agrees(LeanOpened(reader), reader, record)
    # Read lean unless a control character was written as a \u escape, a text holds
    # "_type_" (the transcodings' key) or 19 digits: those may be left to the mapper.
    assert taken or _may_be_left(plain) or "_type_" in repr(opening)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openings(), histories(), st.booleans())
def test_a_cold_case_replays_to_the_case_the_mapper_gives(
    opening: dict[str, Any], history: list[tuple[Any, ...]], ciphered: bool
) -> None:
    """bulk.py's `_replay` of a case's records (its opening lean, the rest as before): the
    same case, at the same version and times, as the mapper's replay, and the same case
    again after what the rules do with it next."""
    writer, reader = MAPPERS[ciphered]
    case = _opened(opening)
    for step in history:
        with contextlib.suppress(DomainError):  # a step refused leaves the case as it was
            _step(case, step)
    records = [writer.to_stored_event(e) for e in case.collect_events()]
    daily = object.__new__(DailyFileWriter)
    daily._reader, daily._fast_replay = reader, FastReplay(reader)
    daily._lean_opened = LeanOpened(reader)

    got = daily._replay(None, records)
    expected = _by_mapper(reader, records)

    assert got is not None
    assert expected is not None
    assert (got.version, got.created_on, got.modified_on) == (
        expected.version,
        expected.created_on,
        expected.modified_on,
    )
    assert _state(got) == _state(expected)
    answers = [_next(case) for case in (got, expected)]
    assert answers[0] == answers[1]  # the same decisions, and the same events
    assert _state(got) == _state(expected)
    assert got.policy == expected.policy
    assert got.borrower is not expected.borrower


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    openings(),
    st.sampled_from(["v1", "extra", "missing", "typed", "nested", "rule", "sealed", "future"]),
    plain_json,
    st.booleans(),
)
def test_an_opening_of_any_other_shape_reads_as_the_mapper_reads_it_or_goes_to_it(
    opening: dict[str, Any], change: str, value: Any, ciphered: bool
) -> None:
    writer, reader = MAPPERS[ciphered]
    case = _opened(opening)
    state = _opening_state(case)
    if change == "v1":  # written before jurisdictions: upcast as the mapper upcasts it
        del state["class_version"], state["jurisdiction"]
        del state["borrower"]["candidate_timezones"]
    elif change == "extra":
        state["extra"] = value
    elif change == "missing":
        del state[sorted(k for k in state if k != "class_version")[hash(repr(value)) % 10]]
    elif change == "typed":  # a field of another type than JSON usually gives it
        state[sorted(state)[hash(repr(value)) % len(state)]] = value
    elif change == "nested":  # a transcoded value where the opening has none
        state["borrower"]["since"] = date(2020, 1, 1)
        state["collateral"] = {"value": Decimal("12.50"), "other": value}
    elif change == "rule":
        state["rules"]["since"] = date(2020, 1, 1)
        state["rules"]["odd"] = value
    elif change == "sealed":  # a sealed leaf, as the application's writer stores it
        state["borrower"]["name"] = seal(SEALER, "a" * 32, "Li Wei")
        state["borrower"]["phones"] = [{"number": seal(SEALER, "a" * 32, "+86138"), "kind": "x"}]
    else:
        state["class_version"] = 3
    record = _record(writer, case.id, state)
    taken = _agrees(LeanOpened(reader), reader, record)
    plain = writer.cipher.decrypt(record.state) if writer.cipher else record.state
    if change in ("v1", "nested", "rule", "sealed") and "_type_" not in repr((opening, value)):
        assert taken or _may_be_left(plain)  # kinds the lean read reads
    if change in ("extra", "missing", "future"):
        assert not taken


def test_other_records_and_damaged_ones_are_left_to_the_mapper() -> None:
    writer, reader = MAPPERS[True]
    lean = LeanOpened(reader)
    case = _usual_case()
    plain = writer.transcoder.encode(_opening_state(case))
    case.record_missed_payment(installment=1, due_date=NOW.date(), amount=Decimal("9"), now=NOW)
    opening, missed = (writer.to_stored_event(e) for e in case.collect_events())
    assert lean.case(opening) is not None
    assert lean.case(missed) is None  # another event
    assert lean.case(StoredEvent(case.id, 1, opening.topic, opening.state[:-1])) is None
    assert lean.case(StoredEvent(str(case.id), 1, opening.topic, opening.state)) is None
    assert lean.case(_record_bytes(writer, case.id, plain)) is not None
    escaped = plain.replace(b'"CN"', b'"\\u0043N"')  # the same value, escaped
    assert lean.case(_record_bytes(writer, case.id, escaped)) is None
    # Outside 64 bits orjson reads a float: left to the mapper, which reads the int.
    state = _opening_state(_usual_case())
    state["collateral"] = {"value": Decimal("12.50"), "count": -(2**63) - 1}
    wide = _record(writer, case.id, state)
    assert lean.case(wide) is None
    opened = _by_mapper(reader, [wide])
    assert opened is not None
    assert opened.collateral["count"] == -(2**63) - 1
    with pytest.raises(Exception):  # noqa: B017,PT011 - the mapper's own error
        reader.to_domain_event(StoredEvent(case.id, 1, opening.topic, opening.state[:-1]))


def test_only_the_mapper_it_was_written_for_reads_lean() -> None:
    writer, reader = MAPPERS[True]
    record = writer.to_stored_event(_usual_case().pending_events[0])
    assert LeanOpened(reader).case(record) is not None
    opening = copy.copy(reader)
    opening.open_personal, opening.keys = True, object()  # type: ignore[assignment]
    assert LeanOpened(opening).case(record) is None  # it opens personal leaves: not here


def test_the_daily_file_reads_its_cold_cases_lean(monkeypatch: pytest.MonkeyPatch) -> None:
    """bulk.py's `_replay` takes the lean read for a cold case's opening (were it not to,
    the comparisons above would prove nothing of the daily file)."""
    writer, reader = MAPPERS[True]
    daily = object.__new__(DailyFileWriter)
    daily._reader, daily._fast_replay = reader, FastReplay(reader)
    daily._lean_opened = LeanOpened(reader)
    case = _usual_case()
    records = [writer.to_stored_event(e) for e in case.collect_events()]
    read: list[StoredEvent] = []
    mapper_read = reader.to_domain_event
    monkeypatch.setattr(reader, "to_domain_event", lambda r: read.append(r) or mapper_read(r))
    assert daily._replay(None, records) is not None
    assert read == []


def _next(case: CollectionCase) -> list[str]:
    """What the rules answer on the case next (its state compared after)."""
    answers = []
    steps = (
        lambda: case.record_payment(amount=Decimal("100"), paid_at=NOW, reference="R-X", now=NOW),
        lambda: case.record_missed_payment(
            installment=40, due_date=NOW.date(), amount=Decimal("10"), now=NOW
        ),
        lambda: case.age(today=NOW.date(), now=NOW),
    )
    for step in steps:
        try:
            step()
            answers.append(repr([list(vars(e).items()) for e in case.collect_events()]))
        except DomainError as exc:
            answers.append(repr(exc))
    return answers


def _usual_case() -> CollectionCase:
    return _opened(
        {
            "loan_id": "L-1",
            "product": "consumer_loan",
            "currency": "CNY",
            "principal": Decimal("100000.00"),
            "borrower": {"id": "B-1", "name": "Li Wei", "timezone": "Asia/Shanghai"},
            "guarantors": [],
            "collateral": None,
            "policy": CasePolicy(),
            "jurisdiction": None,
        }
    )


def _record_bytes(writer: PersonalDataMapper, case_id: UUID, plain: bytes) -> StoredEvent:
    assert writer.cipher is not None
    return StoredEvent(case_id, 1, get_topic(CaseOpened), writer.cipher.encrypt(plain))
