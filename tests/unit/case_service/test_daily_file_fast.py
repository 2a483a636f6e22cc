"""The daily file's fast path (daily_file/fast.py) against its case's rule on the aggregate:
on generated cases and items, the same answers, the same events, the same stored bytes and
the same cases afterwards, whichever items the fast path takes and whichever it leaves."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import inspect
import itertools
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock
from uuid import UUID

from case_service import cipher as cipher_module
from case_service.daily_file.bulk import _apply
from case_service.daily_file.fast import FastMissedPayments, FastReplay, Known
from case_service.daily_file.items import MissedInstallment, record_item
from case_service.daily_file.transcoder import LeanTranscoder
from case_service.domain import CollectionCase, DomainError
from case_service.domain.events import CaseEvent
from case_service.domain.payments import PaymentCommands
from case_service.domain.policy import DEFAULT_POLICY
from case_service.persistence import stored_event
from case_service.pii.mapper import PersonalDataMapper
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import borrower
from .stored import case_transcoder, fresh_cipher

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=90)  # when the cases' history was written


def _mappers() -> tuple[PersonalDataMapper, PersonalDataMapper, PersonalDataMapper]:
    """The application's mapper (the command path's), its writing copy as the bulk path uses
    it, and its reading view (bulk.DailyFileWriter)."""
    transcoder = case_transcoder()
    cipher = fresh_cipher()
    application = PersonalDataMapper(transcoder, None, cipher)
    writer = PersonalDataMapper(LeanTranscoder(transcoder), None, cipher)
    return application, writer, application.sealed_view()


APPLICATION, WRITER, READER = _mappers()

amounts = st.one_of(
    st.decimals(min_value=-5, max_value=200_000, places=2, allow_nan=False),
    st.sampled_from(
        [Decimal("0"), Decimal("1200.00"), Decimal("1200.0"), Decimal("12"), Decimal("1E+3"),
         Decimal("0.001"), Decimal("1.005"), Decimal("NaN"), Decimal("Infinity"),
         Decimal("2E+12"), Decimal("99999.99"), Decimal("100000.00"), Decimal("100000.01")]
    ),
)  # fmt: skip
POLICIES = [
    DEFAULT_POLICY,
    dataclasses.replace(DEFAULT_POLICY, max_amount=Decimal("100000.00")),
    dataclasses.replace(DEFAULT_POLICY, business_timezone="America/Los_Angeles"),
]
days_ago = st.one_of(st.integers(min_value=-5, max_value=120), st.sampled_from([3652, 3653, 3654]))


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Steps a case went through before the file: missed installments, payments, a plan, a
    closing."""
    missed = st.tuples(st.just("missed"), st.integers(1, 12), st.integers(0, 80), amounts)
    step = st.one_of(
        missed,
        missed,
        st.tuples(st.just("paid"), amounts),
        st.tuples(st.just("plan"), st.integers(1, 60), amounts),
    )
    closed = draw(st.sampled_from([False] * 7 + [True]))
    return draw(st.lists(step, max_size=6)) + ([("close",)] if closed else [])


@st.composite
def files(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    openings = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "currency": st.sampled_from(["CNY", "JPY", "KWD"]),
                    "principal": st.sampled_from(
                        [Decimal("100000.00"), Decimal("5000"), Decimal("3000.5")]
                    ),
                    "history": histories(),
                    # The rules fixed at opening: cases of one file may differ in them.
                    "policy": st.sampled_from(POLICIES),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    unusual = st.tuples(
        st.integers(0, len(openings)),  # the last index names no case
        st.one_of(st.integers(0, 14), st.sampled_from([1000, 1001, True])),
        days_ago,
        st.booleans(),  # a datetime rather than a date
        amounts,
        st.sampled_from([None, "CNY", "JPY", "USD"]),
    )
    usual = st.tuples(  # a new installment, as most of a file is
        st.integers(0, len(openings) - 1),
        st.integers(13, 40),
        st.integers(0, 60),
        st.just(False),
        st.sampled_from([Decimal("100"), Decimal("1200.00"), Decimal("35.5"), Decimal("9")]),
        st.just(None),
    )
    return openings, draw(st.lists(st.one_of(usual, usual, unusual), min_size=1, max_size=25))


def _open(n: int, opening: dict[str, Any]) -> CollectionCase:
    return _history(n, opening)[0]


def _history(n: int, opening: dict[str, Any]) -> tuple[CollectionCase, list[Any]]:
    """The case opened and taken through its history; the events it recorded."""
    currency, principal = opening["currency"], opening["principal"]
    case = CollectionCase.open(
        loan_id=f"L-FAST-{n}",
        product="consumer_loan",
        currency=currency,
        principal=principal.quantize(Decimal(1)) if currency == "JPY" else principal,
        borrower=borrower(),
        guarantors=[],
        collateral=None,
        now=EARLIER,
        policy=opening.get("policy", DEFAULT_POLICY),
    )
    for step in opening["history"]:
        with contextlib.suppress(DomainError):  # a step refused leaves the case as it was
            _step(case, step)
    return case, list(case.collect_events())


def _step(case: CollectionCase, step: tuple[Any, ...]) -> None:
    today = EARLIER.date()
    if step[0] == "missed":
        _, number, ago, amount = step
        due = today - timedelta(days=ago)
        case.record_missed_payment(installment=number, due_date=due, amount=amount, now=EARLIER)
    elif step[0] == "paid":
        case.record_payment(amount=step[1], paid_at=EARLIER, reference=f"R-{step[1]}", now=EARLIER)
    elif step[0] == "plan":  # falls due before the file's day: in arrears on it
        _, after, amount = step
        case.agree_payment_plan(
            kind="extension",
            installments=[{"due_date": today + timedelta(days=after), "amount": amount}],
            approved_by="manager-1",
            agreed_at=EARLIER,
            now=EARLIER,
        )
    else:
        case.close(reason="settled", closed_at=EARLIER, now=EARLIER)


@contextmanager
def _counted_nonces() -> Iterator[None]:
    """The same nonces, in order, for each run: sealed bytes compare byte for byte."""
    counter = itertools.count()

    def counted() -> bytes:
        return next(counter).to_bytes(12, "big")

    with mock.patch.object(cipher_module, "fresh_nonce", counted):
        yield


def _run(
    cases: dict[UUID, CollectionCase],
    items: list[MissedInstallment],
    now: datetime,
    fast: FastMissedPayments | None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """What bulk.prepare does with a chunk: each item applied, the events encoded."""
    recorded: list[CaseEvent | StoredEvent] = []
    with _counted_nonces():
        outcomes = [_apply(item, cases.get(item.case_id), now, recorded, fast) for item in items]
        stored = [
            e if isinstance(e, StoredEvent) else WRITER.to_stored_event(e)  # type: ignore[arg-type]
            for e in recorded
        ]
    answers = [
        (
            o.case_id,
            o.version,
            o.events,
            o.recorded_versions,
            None if o.error is None else (type(o.error).__name__, str(o.error), vars(o.error)),
        )
        for o in outcomes
    ]
    rows = [(e.originator_id, e.originator_version, e.topic, e.state) for e in stored]
    taken = sum(isinstance(e, StoredEvent) for e in recorded)
    return answers, rows, taken


def _items(cases: list[CollectionCase], rows: list[tuple[Any, ...]]) -> list[MissedInstallment]:
    """A file's items from `files()`' rows (an index past the cases names no case)."""
    ids = [case.id for case in cases] + [UUID(int=1)]
    today = NOW.date()
    return [
        MissedInstallment(
            ids[which],
            number,
            datetime.combine(today - timedelta(days=ago), NOW.timetz())
            if as_datetime
            else today - timedelta(days=ago),
            amount,
            currency,
        )
        for which, number, ago, as_datetime, amount, currency in rows
    ]


def _state(case: CollectionCase) -> str:
    """Everything the case holds, pending events included, Decimal places and order kept."""
    return repr(sorted(vars(case).items(), key=lambda kv: kv[0])) + repr(
        [list(vars(e).items()) for e in case.pending_events]
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(), st.sampled_from([NOW] * 5 + [NOW.replace(tzinfo=None)]))  # naive: refused
def test_the_fast_path_answers_records_and_stores_what_the_rule_does(
    file: tuple[list[dict[str, Any]], list[tuple[Any, ...]]], now: datetime
) -> None:
    openings, rows = file
    originals = [_open(n, opening) for n, opening in enumerate(openings)]
    items = _items(originals, rows)
    by_rule = {case.id: copy.deepcopy(case) for case in originals}
    by_fast = {case.id: copy.deepcopy(case) for case in originals}

    expected = _run(by_rule, items, now, None)
    got = _run(by_fast, items, now, FastMissedPayments(now, WRITER))

    assert got[:2] == expected[:2]
    assert expected[2] == 0  # the rule's run encodes every event through the mapper
    for case_id, case in by_rule.items():
        assert _state(by_fast[case_id]) == _state(case)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files(),
    st.integers(0, 25),
    st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=1), timedelta(days=40)]),
    st.sampled_from([None, Decimal("100"), Decimal("2900"), Decimal("99000")]),
)
def test_what_the_fast_path_keeps_of_a_case_between_chunks_answers_as_the_rule_does(
    file: tuple[list[dict[str, Any]], list[tuple[Any, ...]]],
    cut: int,
    later: timedelta,
    paid_between: Decimal | None,
) -> None:
    """A file in two chunks (or two files, `later`), the fast path keeping what it took of
    each case between them (`Known`): the same answers, events, bytes and cases as the rule,
    also when a case changed between them by another command or the business day moved."""
    openings, rows = file
    originals = [_open(n, opening) for n, opening in enumerate(openings)]
    items = _items(originals, rows)
    by_rule = {case.id: copy.deepcopy(case) for case in originals}
    by_fast = {case.id: copy.deepcopy(case) for case in originals}
    known = Known()
    then = NOW + later
    for cases, fast in ((by_rule, None), (by_fast, FastMissedPayments(NOW, WRITER, known))):
        first = _run(cases, items[:cut], NOW, fast)
        if paid_between is not None:  # a command between the chunks, on the same objects
            with contextlib.suppress(DomainError):
                case = cases[originals[0].id]
                case.record_payment(amount=paid_between, paid_at=then, reference="R", now=then)
        fast = None if fast is None else FastMissedPayments(then, WRITER, known)
        second = _run(cases, items[cut:], then, fast)
        if cases is by_rule:
            expected = first, second
    assert first[:2] == expected[0][:2]
    assert second[:2] == expected[1][:2]
    for case_id, case in by_rule.items():
        assert _state(by_fast[case_id]) == _state(case)


def test_the_fast_path_keeps_what_it_took_of_a_case_for_the_next_chunk() -> None:
    """The point of `Known`: a case named once per chunk is not taken again by the next one
    (the same object, version and day), and is taken again when any of them changed."""
    case = _open(0, {"currency": "CNY", "principal": Decimal("100000.00"), "history": []})
    known = Known()
    today = NOW.date()
    for n, now in enumerate([NOW, NOW + timedelta(hours=1)], start=1):
        fast = FastMissedPayments(now, WRITER, known)
        item = MissedInstallment(case.id, n, today, Decimal("1200.00"))
        assert _apply(item, case, now, [], fast).events == ["PaymentMissed"]
        assert len(known) == 1
    kept = known.get(case)
    assert kept is not None
    assert kept.version == case.version
    fast = FastMissedPayments(NOW + timedelta(hours=2), WRITER, known)
    assert fast._case(case, NOW + timedelta(hours=2)) is kept  # taken once, kept
    other = copy.deepcopy(case)  # a case read afresh: another object
    assert known.get(other) is None
    assert fast._case(other, NOW) is not kept
    next_day = FastMissedPayments(NOW + timedelta(days=1), WRITER, known)
    assert next_day._case(case, NOW + timedelta(days=1)) is not kept
    kept = fast._case(case, NOW)
    case.record_payment(amount=Decimal("100"), paid_at=NOW, reference="R", now=NOW)
    changed = fast._case(case, NOW)  # another version: taken again, with the payment
    assert changed is not kept
    assert changed.outstanding == kept.outstanding - Decimal("100")


def test_the_usual_items_take_the_fast_path() -> None:
    """The common file (new installments on open cases) is what the fast path is for: were
    it to leave them to the rule, the comparison above would hold and prove nothing of it."""
    case = _open(0, {"currency": "CNY", "principal": Decimal("100000.00"), "history": []})
    today = NOW.date()
    items = [
        MissedInstallment(case.id, n, today - timedelta(days=30 - n), Decimal("1200.00"))
        for n in range(1, 6)
    ] + [MissedInstallment(case.id, 1, today - timedelta(days=29), Decimal("1200.00"))]
    by_rule, by_fast = {case.id: copy.deepcopy(case)}, {case.id: copy.deepcopy(case)}

    expected = _run(by_rule, items, NOW, None)
    got = _run(by_fast, items, NOW, FastMissedPayments(NOW, WRITER))

    assert got[:2] == expected[:2]
    assert got[2] == 5  # five new installments fast; the resend answered by the rule
    assert [answer[2] for answer in got[0]] == [["PaymentMissed"]] * 5 + [[]]
    assert WRITER.to_domain_event(StoredEvent(*got[1][0])).amount == Decimal("1200.00")  # type: ignore[attr-defined]


def test_the_rule_the_fast_path_mirrors_has_not_changed_unseen() -> None:
    """fast.py repeats the checks of `record_missed_payment` and `record_item`: when either
    changes, review fast.py against it, then record the new fingerprint here."""
    source = inspect.getsource(PaymentCommands.record_missed_payment) + inspect.getsource(
        record_item
    )
    fingerprint = hashlib.sha256(source.encode()).hexdigest()
    assert fingerprint == "4c954853f3eb773234e29a5c569c82521cfa3a752a63e37b08295623a69f6fe6", (
        "the rule changed: mirror it in case_service/daily_file/fast.py"
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_missed_installments_read_back_fast_as_the_mapper_reads_them(
    file: tuple[list[dict[str, Any]], list[tuple[Any, ...]]],
) -> None:
    """Whichever encoder wrote them (the command path's or the bulk path's), the fast reading
    of a stored PaymentMissed is the mapper's event, attribute for attribute; other records,
    and damaged ones, are left to the mapper."""
    openings, _ = file
    fast = FastReplay(READER)
    for n, opening in enumerate(openings):
        for event in _history(n, opening)[1]:
            for mapper in (APPLICATION, WRITER):
                record = mapper.to_stored_event(event)
                expected = READER.to_domain_event(record)
                got = fast.event(record)
                if type(event).__name__ != "PaymentMissed":
                    assert got is None
                    continue
                assert got is not None
                assert type(got) is type(expected)
                assert repr(list(vars(got).items())) == repr(list(vars(expected).items()))
                damaged = StoredEvent(record.originator_id, 2, record.topic, record.state[:-1])
                assert fast.event(damaged) is None


def _missed_record_with(old: bytes, new: bytes) -> StoredEvent:
    """A fresh case's stored PaymentMissed, `old` replaced by `new` in its plain state."""
    case = _history(0, {"currency": "CNY", "principal": Decimal("5000"), "history": []})[0]
    case.record_missed_payment(installment=1, due_date=NOW.date(), amount=Decimal("9"), now=NOW)
    record = READER.to_stored_event(case.collect_events()[-1])
    cipher = READER.cipher
    plain = cipher.decrypt(record.state) if cipher else record.state
    edited = plain.replace(old, new)
    assert edited != plain
    state = cipher.encrypt(edited) if cipher else edited
    return StoredEvent(record.originator_id, 2, record.topic, state)


def test_a_missed_installment_numbered_beyond_64_bits_is_left_to_the_mapper() -> None:
    """orjson reads such a number as a float, the mapper as the int it is."""
    wide = _missed_record_with(b'"installment":1,', b'"installment":18446744073709551616,')
    assert FastReplay(READER).event(wide) is None
    assert READER.to_domain_event(wide).installment == 2**64


def test_a_missed_installment_with_a_damaged_amount_is_left_to_the_mapper() -> None:
    """Decimal refuses such a text with an ArithmeticError, not a ValueError: still None."""
    damaged = _missed_record_with(b'"_data_":"9.00"', b'"_data_":"nine"')
    assert FastReplay(READER).event(damaged) is None


def test_an_amount_shared_by_items_of_cases_in_other_currencies_is_checked_for_each() -> None:
    """fast.py keeps an amount's own checks by the amount object (a file's repeated amounts
    arrive as one object, items.unpacked) and the case's limits: the same object, refused
    for a currency without minor units, is still taken for one with them, and the other way
    round the answers are the rule's."""
    shared = Decimal("35.5")
    cases = [
        _open(n, {"currency": currency, "principal": Decimal("100000"), "history": []})
        for n, currency in enumerate(["JPY", "CNY", "JPY", "KWD"])
    ]
    today = NOW.date()
    items = [MissedInstallment(case.id, 1, today, shared) for case in cases]
    by_rule = {case.id: copy.deepcopy(case) for case in cases}
    by_fast = {case.id: copy.deepcopy(case) for case in cases}

    expected = _run(by_rule, items, NOW, None)
    got = _run(by_fast, items, NOW, FastMissedPayments(NOW, WRITER))

    assert got[:2] == expected[:2]
    assert [answer[4] is None for answer in got[0]] == [False, True, False, True]
    assert got[2] == 2  # the CNY and KWD items, fast


def test_cases_of_one_chunk_with_other_rules_are_each_checked_by_their_own() -> None:
    """Each case is checked on its own rules, whatever the cases before it in the chunk: a
    case whose business day is still the day before (Los Angeles) refuses an installment
    due today in Shanghai, after a case in Shanghai accepted it, as the rule does."""
    now = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # Nov 3 in Shanghai, Nov 2 in Los Angeles
    openings = [
        {"currency": "CNY", "principal": Decimal("5000"), "history": [], "policy": policy}
        for policy in (DEFAULT_POLICY, POLICIES[2], DEFAULT_POLICY, POLICIES[2])
    ]
    originals = [_open(n, opening) for n, opening in enumerate(openings)]
    items = [
        MissedInstallment(c.id, 13, now.date() + timedelta(days=1), Decimal("9")) for c in originals
    ]
    by_rule = {case.id: copy.deepcopy(case) for case in originals}
    by_fast = {case.id: copy.deepcopy(case) for case in originals}

    expected = _run(by_rule, items, now, None)
    got = _run(by_fast, items, now, FastMissedPayments(now, WRITER))

    assert got[:2] == expected[:2]
    assert [bool(by_rule[c.id].pending_events) for c in originals] == [True, False, True, False]
    assert [by_fast[c.id].version for c in originals] == [by_rule[c.id].version for c in originals]


def test_a_stored_event_built_directly_is_the_library_s() -> None:
    # fast.stored_event fills the frozen dataclass's fields without its __init__: the
    # same fields (the library's, in order), equality, hash, and pickling.
    case_id = UUID(int=5)
    direct = stored_event(case_id, 3, "topic", b"state")
    built = StoredEvent(case_id, 3, "topic", b"state")
    assert [f.name for f in dataclasses.fields(StoredEvent)] == list(vars(direct))
    assert vars(direct) == vars(built)
    assert direct == built
    assert hash(direct) == hash(built)
    assert pickle.loads(pickle.dumps(direct)) == built
    assert type(direct) is StoredEvent
