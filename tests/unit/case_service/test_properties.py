"""Property tests: any sequence of accepted commands keeps the invariants and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from case_service.domain import CollectionCase, DomainError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import open_case

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("30000"), places=2)

commands = st.one_of(
    st.tuples(st.just("missed"), st.integers(1, 12), st.integers(0, 60), MONEY),
    st.tuples(st.just("pay"), MONEY, st.sampled_from(["R1", "R2", "R3", "R4", "R5"])),
    st.tuples(st.just("promise"), MONEY, st.integers(-1, 35)),
    st.tuples(st.just("contact"), st.sampled_from(["call", "sms"]), st.integers(0, 4),
              st.integers(0, 23), st.sampled_from(["no_answer", "right_party_contact", "busy"])),
    st.tuples(st.just("age")),
    st.tuples(st.just("plan"), st.integers(1, 3)),
    st.tuples(st.just("notice"), st.booleans()),
    st.tuples(st.just("sue"), MONEY),
    st.tuples(st.just("judge")),
    st.tuples(st.just("write_off")),
    st.tuples(st.just("close"), st.sampled_from(["cured", "paid_in_full", "settled"])),
    st.tuples(st.just("reopen")),
)  # fmt: skip
steps = st.lists(st.tuples(st.integers(0, 20), commands), max_size=40)


def run(case: CollectionCase, command: tuple[Any, ...], now: datetime) -> None:
    kind, *args = command
    today = now.date()
    if kind == "missed":
        n, days_ago, amount = args
        case.record_missed_payment(
            installment=n, due_date=today - timedelta(days=days_ago), amount=amount, now=now
        )
    elif kind == "pay":
        case.record_payment(amount=args[0], paid_at=now, reference=f"{args[1]}-{today}", now=now)
    elif kind == "promise":
        case.make_promise(amount=args[0], promised_date=today + timedelta(days=args[1]), now=now)
    elif kind == "contact":
        channel, number, hour, outcome = args
        case.record_contact_attempt(
            channel=channel, party="borrower", contact_point=f"+861380000000{1 + number % 2}", outcome=outcome,
            occurred_at=now.replace(hour=hour) if hour <= now.hour else now, agent_id=None,
            recording_ref="REC" if outcome == "right_party_contact" else None, notes=None, now=now,
        )  # fmt: skip
    elif kind == "age":
        case.age(today=today, now=now)
    elif kind == "plan":
        arrears = case.arrears_on(today)
        parts = args[0]
        share = (arrears / parts).quantize(Decimal("0.01"))
        amounts = [share] * (parts - 1) + [arrears - share * (parts - 1)]
        case.agree_payment_plan(
            kind="extension",
            installments=[
                {"due_date": today + timedelta(days=30 * (i + 1)), "amount": a}
                for i, a in enumerate(amounts)
            ],
            approved_by="S",
            agreed_at=now,
            now=now,
        )
    elif kind == "notice":
        case.serve_notice(
            kind="demand_letter", delivered_via="courier", served_at=now,
            proof="P" if args[0] else None, now=now,
        )  # fmt: skip
    elif kind == "sue":
        case.file_lawsuit(
            court="C", docket_number=f"D-{today}", claim_amount=args[0], filed_at=now, now=now
        )
    elif kind == "judge":
        if case.pending_docket is not None:
            claim = case.lawsuits[case.pending_docket]["claim_amount"]
            case.enter_judgment(
                docket_number=case.pending_docket, outcome="in_favour", awarded_amount=claim,
                entered_at=now, now=now,
            )  # fmt: skip
    elif kind == "write_off":
        case.write_off(reason="r", approved_by="CRO", written_off_at=now, now=now)
    elif kind == "close":
        case.close(reason=args[0], closed_at=now, now=now)
    elif kind == "reopen":
        case.reopen(reason="r", reopened_at=now, now=now)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_accepted_commands_keep_the_invariants_and_replay(
    program: list[tuple[int, tuple[Any, ...]]],
) -> None:
    case = open_case(now=START, principal=Decimal("100000.00"))
    events = list(case.collect_events())
    now = START
    last_dpd = 0
    for advance, command in program:
        now += timedelta(days=advance)
        before = case.version
        try:
            run(case, command, now)
        except DomainError:
            assert case.version == before  # a refused command records nothing
            continue
        recorded = list(case.collect_events())
        events.extend(recorded)
        recorded_names = {type(e).__name__ for e in recorded}
        today = now.date()
        assert case.arrears_on(today) >= 0
        assert case.outstanding_balance >= 0
        assert case.arrears_on(today) <= case.outstanding_balance
        dpd = case.days_past_due_on(today)
        if not recorded_names & {"PaymentReceived", "PaymentPlanAgreed"}:
            assert dpd >= last_dpd
        last_dpd = dpd
        assert case.days_past_due_on(today + timedelta(days=1)) >= dpd
        for inst in case.installments.values():
            assert Decimal(0) <= inst["paid"] <= inst["amount"]

    rebuilt: CollectionCase = reduce(lambda agg, e: e.mutate(agg), events, None)
    day = now.date()
    assert rebuilt == case
    assert rebuilt.view(day) == case.view(day)
    assert [type(e).__name__ for e in events].count("CaseOpened") == 1
