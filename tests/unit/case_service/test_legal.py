"""The legal track: notices, lawsuits, asset preservation, judgments, enforcement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from case_service.domain import CollectionCase, CommandForbidden, InvalidCommand

from .helpers import NOW, Step, given, judged, missed, names, new_events, sued


def serve(kind: str = "demand_letter", proof: str | None = "EMS-1") -> Step:
    def step(case: CollectionCase) -> None:
        case.serve_notice(
            kind=kind, delivered_via="registered_mail", served_at=NOW, proof=proof, now=NOW
        )

    return step


def test_a_demand_with_proof_is_served_and_interrupts_limitation() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    serve()(case)
    [event] = new_events(case)
    assert (type(event).__name__, event.kind, event.interrupts_limitation) == (
        "NoticeServed",
        "demand_letter",
        True,
    )
    assert case.legal_stage == "demand_served"


def test_a_demand_without_proof_does_not_interrupt_limitation() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    serve(proof=None)(case)
    [event] = new_events(case)
    assert event.interrupts_limitation is False


def test_files_a_lawsuit() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    sued()(case)
    [event] = new_events(case)
    assert (event.docket_number, event.claim_amount, event.currency) == (
        "2026-PD-1",
        Decimal("1200.00"),
        "CNY",
    )
    assert case.legal_stage == "lawsuit_filed"


def test_forbids_a_second_lawsuit_while_one_is_pending() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    with pytest.raises(CommandForbidden) as error:
        sued("2026-PD-2")(case)
    assert error.value.field == "docket_number"


def test_rejects_an_implausible_claim() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        sued(claim="200000.01")(case)
    assert error.value.field == "claim_amount"


def test_no_judgment_without_a_lawsuit() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(CommandForbidden) as error:
        judged()(case)
    assert error.value.field == "docket_number"


def test_no_judgment_for_another_docket() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    with pytest.raises(CommandForbidden):
        judged(docket="2026-XX-9")(case)


def test_a_court_awards_no_more_than_claimed() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    with pytest.raises(InvalidCommand) as error:
        judged(awarded="1200.01")(case)
    assert error.value.field == "awarded_amount"


def test_a_judgment_against_the_bank_awards_nothing() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    with pytest.raises(InvalidCommand):
        judged(outcome="against", awarded="1.00")(case)
    judged(outcome="against", awarded="0")(case)
    assert names(case) == ["JudgmentEntered"]


def test_asset_preservation_needs_a_lawsuit_and_at_most_the_claim() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(CommandForbidden):
        case.grant_asset_preservation(
            court_order_ref="P-1", amount=Decimal(1), granted_at=NOW, now=NOW
        )
    sued()(case)
    case.collect_events()
    with pytest.raises(InvalidCommand) as error:
        case.grant_asset_preservation(
            court_order_ref="P-1", amount=Decimal("1200.01"), granted_at=NOW, now=NOW
        )
    assert error.value.field == "amount"
    case.grant_asset_preservation(
        court_order_ref="P-1", amount=Decimal("1200.00"), granted_at=NOW, now=NOW
    )
    [event] = new_events(case)
    assert (event.docket_number, event.amount) == ("2026-PD-1", Decimal("1200.00"))
    assert case.legal_stage == "asset_preservation_granted"


def test_enforcement_needs_a_judgment_in_the_banks_favour() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    with pytest.raises(CommandForbidden):
        case.start_enforcement(enforcement_ref="E-1", started_at=NOW, now=NOW)
    judged(outcome="against", awarded="0")(case)
    with pytest.raises(CommandForbidden):
        case.start_enforcement(enforcement_ref="E-1", started_at=NOW, now=NOW)


def test_the_full_legal_ladder() -> None:
    case = given(missed(1, date(2026, 6, 1)), serve(), sued(), judged())

    case.start_enforcement(enforcement_ref="E-1", started_at=NOW, now=NOW)

    [event] = new_events(case)
    assert (type(event).__name__, event.docket_number) == ("EnforcementStarted", "2026-PD-1")
    assert case.legal_stage == "enforcement"
    with pytest.raises(CommandForbidden):
        case.start_enforcement(enforcement_ref="E-2", started_at=NOW, now=NOW)


def test_a_judgment_settles_a_dispute() -> None:
    case = given(missed(1, date(2026, 10, 1)), sued())
    case.raise_dispute(reason="amount wrong", raised_at=NOW, now=NOW)
    judged()(case)
    assert case.in_dispute is False
