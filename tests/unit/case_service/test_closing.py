"""Closing, writing off and reopening a case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from case_service.domain import CommandForbidden, InvalidCommand

from .helpers import NOW, given, missed, names, new_events, paid, written_off


def test_write_off_records_written_off_then_closes() -> None:
    case = given(missed(1, date(2026, 1, 1)))

    written_off()(case)

    events = new_events(case)
    assert [type(e).__name__ for e in events] == ["WrittenOff", "CaseClosed"]
    assert (events[0].amount, events[0].days_past_due) == (Decimal("100000.00"), 305)
    assert events[1].reason == "written_off"
    assert case.status == "closed"
    assert case.legal_stage == "written_off"


def test_forbids_writing_off_a_paid_case() -> None:
    case = given(missed(1, date(2026, 1, 1)), paid("100000.00"))
    with pytest.raises(CommandForbidden):
        written_off()(case)


def test_forbids_writing_off_a_performing_loan() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(CommandForbidden):
        written_off()(case)


def test_closes_a_cured_case() -> None:
    case = given(missed(1, date(2026, 10, 1)), paid("1200.00"))
    case.close(reason="cured", closed_at=NOW, now=NOW)
    assert names(case) == ["CaseClosed"]
    assert case.legal_stage == "closed"


def test_forbids_closing_as_cured_with_arrears() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(CommandForbidden) as error:
        case.close(reason="cured", closed_at=NOW, now=NOW)
    assert error.value.field == "reason"


def test_forbids_closing_as_paid_in_full_with_a_balance() -> None:
    case = given(missed(1, date(2026, 10, 1)), paid("1200.00"))
    with pytest.raises(CommandForbidden):
        case.close(reason="paid_in_full", closed_at=NOW, now=NOW)
    paid("98800.00", reference="PAY-2")(case)
    case.close(reason="paid_in_full", closed_at=NOW, now=NOW)
    assert case.close_reason == "paid_in_full"


def test_written_off_only_through_write_off() -> None:
    case = given(missed(1, date(2026, 1, 1)))
    with pytest.raises(CommandForbidden) as error:
        case.close(reason="written_off", closed_at=NOW, now=NOW)
    assert error.value.field == "reason"


def test_rejects_an_unknown_close_reason() -> None:
    case = given()
    with pytest.raises(InvalidCommand) as error:
        case.close(reason="bored", closed_at=NOW, now=NOW)
    assert error.value.field == "reason"


def test_every_command_on_a_closed_case_is_forbidden() -> None:
    case = given(missed(1, date(2026, 1, 1)), written_off())
    commands: list[Callable[[], None]] = [
        lambda: paid("1.00")(case),
        lambda: case.serve_notice(
            kind="reminder", delivered_via="sms", served_at=NOW, proof=None, now=NOW
        ),
        lambda: case.record_field_visit(
            visited_at=NOW, address="x", outcome="nobody_home", agent_id=None, notes=None, now=NOW
        ),
        lambda: case.raise_dispute(reason="x", raised_at=NOW, now=NOW),
        lambda: case.close(reason="settled", closed_at=NOW, now=NOW),
        lambda: case.make_promise(amount=Decimal(1), promised_date=date(2026, 11, 5), now=NOW),
    ]
    for command in commands:
        with pytest.raises(CommandForbidden):
            command()
    assert names(case) == []


def test_reopens_only_a_closed_case() -> None:
    case = given(missed(1, date(2026, 1, 1)))
    with pytest.raises(CommandForbidden):
        case.reopen(reason="x", reopened_at=NOW, now=NOW)
    written_off()(case)
    case.collect_events()

    case.reopen(reason="the borrower was found (账销案存)", reopened_at=NOW, now=NOW)

    assert names(case) == ["CaseReopened"]
    assert case.status == "open"
    assert case.close_reason is None
    paid("100.00")(case)
    assert names(case) == ["PaymentReceived"]
