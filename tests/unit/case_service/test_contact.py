"""Contact attempts, the conduct rule on recordings, and lost contact by the 3:3:3 rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain import EVENT_CLASSES, CasePolicy, CommandForbidden, InvalidCommand

from .helpers import NOW, called, given, missed, names, new_events, texted, written_off

# Asia/Shanghai is UTC+8: these are 09:00, 14:00 and 19:00 local time on 1 November.
MORNING = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
AFTERNOON = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
N1, N2, N3 = "+8613800000001", "+8613800000002", "+8613800000003"
RPC = "right_party_contact"


def test_records_a_contact_attempt_with_the_local_time_of_day() -> None:
    case = given(missed(1, date(2026, 10, 1)))

    called(N1, AFTERNOON)(case)

    [event] = new_events(case)
    assert type(event).__name__ == "ContactAttempted"
    assert (event.channel, event.outcome, event.local_time_of_day) == (
        "call",
        "no_answer",
        "afternoon",
    )


def test_a_connected_call_must_carry_a_recording() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        called(N1, MORNING, outcome=RPC)(case)
    assert error.value.field == "recording_ref"


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "pigeon"), ("party", "neighbour"), ("outcome", "maybe"), ("contact_point", "")],
)
def test_rejects_an_unknown_value(field: str, value: str) -> None:
    case = given()
    command = {
        "channel": "call",
        "party": "borrower",
        "contact_point": N1,
        "outcome": "no_answer",
        field: value,
    }
    with pytest.raises(InvalidCommand) as error:
        case.record_contact_attempt(
            **command,
            occurred_at=MORNING,
            agent_id=None,
            recording_ref=None,
            notes=None,
            now=NOW,
        )
    assert error.value.field == field


def test_forbids_any_contact_on_a_closed_case() -> None:
    case = given(missed(1, date(2026, 1, 1)), written_off())
    with pytest.raises(CommandForbidden):
        texted(N1, MORNING)(case)


PERIODS = (MORNING, AFTERNOON, EVENING)
# Eight of the nine cells (N3 in the evening missing) and a delivered SMS.
EIGHT_CELLS = [
    *(called(n, t) for n in (N1, N2, N3) for t in PERIODS if (n, t) != (N3, EVENING)),
    texted(N1, AFTERNOON),
]


def test_the_333_rule_is_met_by_the_ninth_cell_and_records_contact_lost() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS)
    assert case.contactability == "reachable"

    called(N3, EVENING)(case)

    events = new_events(case)
    assert [type(e).__name__ for e in events] == ["ContactAttempted", "ContactLost"]
    lost = events[1]
    assert (lost.numbers_tried, lost.call_attempts, lost.sms_sent) == (3, 9, 1)
    assert sorted(lost.times_of_day) == ["afternoon", "evening", "morning"]
    assert case.contactability == "lost"


def test_three_calls_one_per_number_and_period_no_longer_lose_contact() -> None:
    case = given(
        missed(1, date(2026, 10, 1)),
        called(N1, MORNING),
        called(N2, AFTERNOON),
        texted(N1, AFTERNOON),
    )
    called(N3, EVENING)(case)
    assert names(case) == ["ContactAttempted"]
    assert case.contactability == "reachable"


def test_a_number_dialled_twice_in_one_period_fills_one_cell() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS)
    called(N3, AFTERNOON)(case)
    called(N3, MORNING)(case)
    assert names(case) == ["ContactAttempted", "ContactAttempted"]


def test_a_wrong_number_fills_no_cell() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS)
    called(N3, EVENING, outcome="wrong_number")(case)
    assert names(case) == ["ContactAttempted"]


def test_without_a_delivered_sms_the_333_rule_is_not_met() -> None:
    nine = [called(n, t) for n in (N1, N2, N3) for t in PERIODS]
    case = given(missed(1, date(2026, 10, 1)), *nine)
    assert case.contactability == "reachable"
    texted(N1, EVENING, outcome="failed")(case)
    assert names(case) == ["ContactAttempted"]
    texted(N1, EVENING)(case)
    assert names(case) == ["ContactAttempted", "ContactLost"]


def test_a_right_party_contact_restarts_the_333_count() -> None:
    case = given(
        missed(1, date(2026, 10, 1)),
        *EIGHT_CELLS,
        called(N1, EVENING, outcome=RPC, recording_ref="REC-1"),
    )
    called(N3, EVENING)(case)
    assert names(case) == ["ContactAttempted"]


def test_contact_lost_is_recorded_once() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS, called(N3, EVENING))
    called(N3, MORNING)(case)
    assert names(case) == ["ContactAttempted"]


def test_a_right_party_contact_on_a_lost_case_regains_contact() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS, called(N3, EVENING))

    called(N1, EVENING, outcome=RPC, recording_ref="REC-1")(case)

    assert names(case) == ["ContactAttempted", "ContactRegained"]
    assert case.contactability == "reachable"


def test_meeting_the_borrower_on_a_field_visit_regains_contact() -> None:
    case = given(missed(1, date(2026, 10, 1)), *EIGHT_CELLS, called(N3, EVENING))

    case.record_field_visit(
        visited_at=NOW,
        address="1 Renmin Road",
        outcome="met_borrower",
        agent_id="A-2",
        notes=None,
        now=NOW,
    )

    assert names(case) == ["FieldVisitMade", "ContactRegained"]


def test_a_reminder_is_recorded_as_reminder_sent() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    case.serve_notice(kind="reminder", delivered_via="sms", served_at=NOW, proof=None, now=NOW)
    assert names(case) == ["ReminderSent"]


def test_placement_needs_consent_and_happens_once() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        case.place_with_agency(agency_id="AG-1", consent_ref="", placed_at=NOW, now=NOW)
    assert error.value.field == "consent_ref"

    case.place_with_agency(agency_id="AG-1", consent_ref="CONSENT-1", placed_at=NOW, now=NOW)
    assert names(case) == ["PlacedWithAgency"]
    with pytest.raises(CommandForbidden):
        case.place_with_agency(agency_id="AG-2", consent_ref="CONSENT-2", placed_at=NOW, now=NOW)

    case.recall_from_agency(reason="poor results", recalled_at=NOW, now=NOW)
    [recalled] = new_events(case)
    assert recalled.agency_id == "AG-1"
    with pytest.raises(CommandForbidden):
        case.recall_from_agency(reason="again", recalled_at=NOW, now=NOW)


def test_complaints_are_received_then_resolved_once() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    case.receive_complaint(
        complaint_id="C-1", channel="phone", category="harassment", description="called at night",
        received_at=NOW, now=NOW,
    )  # fmt: skip
    assert case.view(NOW.date())["open_complaints"] == ["C-1"]
    with pytest.raises(CommandForbidden):
        case.receive_complaint(
            complaint_id="C-1",
            channel="phone",
            category="x",
            description="x",
            received_at=NOW,
            now=NOW,
        )
    with pytest.raises(InvalidCommand) as error:
        case.resolve_complaint(complaint_id="C-9", resolution="x", resolved_at=NOW, now=NOW)
    assert error.value.field == "complaint_id"

    case.resolve_complaint(
        complaint_id="C-1", resolution="agent retrained", resolved_at=NOW, now=NOW
    )
    assert names(case) == ["ComplaintReceived", "ComplaintResolved"]
    assert case.view(NOW.date())["open_complaints"] == []
    with pytest.raises(CommandForbidden):
        case.resolve_complaint(complaint_id="C-1", resolution="x", resolved_at=NOW, now=NOW)


def test_a_dispute_marks_the_case_in_dispute() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    case.raise_dispute(reason="never received the loan", raised_at=NOW, now=NOW)
    assert names(case) == ["DisputeRaised"]
    assert case.view(NOW.date())["in_dispute"] is True


def test_a_guarantor_demand_needs_a_guarantor_of_the_case() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        case.demand_from_guarantor(
            guarantor_id="G-9", amount=Decimal("1200.00"), served_at=NOW, proof=None, now=NOW
        )
    assert error.value.field == "guarantor_id"
    case.demand_from_guarantor(
        guarantor_id="G-1", amount=Decimal("1200.00"), served_at=NOW, proof="EMS-1", now=NOW
    )
    [event] = new_events(case)
    assert (type(event).__name__, event.amount, event.currency) == (
        "GuarantorDemanded",
        Decimal("1200.00"),
        "CNY",
    )


def _dial(case: Any, line: str, when: datetime, number: str = N1) -> None:
    case.record_contact_attempt(
        channel="call",
        party=case.owner_of(number) or "borrower",
        contact_point=number,
        outcome="no_answer",
        occurred_at=when,
        caller_line=line,
        now=NOW,
    )


def test_where_the_reading_counts_caller_lines_three_lines_fill_the_cells() -> None:
    policy = CasePolicy(lost_contact_caller_lines=("CN",))
    case = given(missed(1, date(2026, 10, 1)), texted(N1, AFTERNOON), policy=policy)
    lines = [(line, t) for line in ("L-A", "L-B", "L-C") for t in PERIODS]
    for line, when in lines[:8]:
        _dial(case, line, when)
    assert case.contactability == "reachable"
    _dial(case, *lines[8])
    assert names(case)[-1] == "ContactLost"


def test_by_default_the_borrowers_numbers_are_counted_not_the_caller_lines() -> None:
    case = given(missed(1, date(2026, 10, 1)), texted(N1, AFTERNOON))
    for line in ("L-A", "L-B", "L-C"):
        for when in PERIODS:
            _dial(case, line, when)
    assert case.contactability == "reachable"  # one number, however many lines


def test_a_version_1_contact_attempt_is_upcast_without_a_caller_line() -> None:
    state: dict[str, Any] = {"channel": "call", "contact_point": N1}
    EVENT_CLASSES["ContactAttempted"].upcast_v1_v2(state)  # type: ignore[attr-defined]
    assert state["caller_line"] is None


def test_a_spouses_number_called_as_the_borrower_is_refused() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand, match="spouse's by the case's record") as refused:
        called(N3, MORNING, party="borrower")(case)
    assert refused.value.field == "party"
    assert new_events(case) == []


def test_a_number_the_case_does_not_know_is_refused_until_it_is_added() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    stranger = "+8613900000009"
    with pytest.raises(InvalidCommand, match="does not know this number") as refused:
        called(stranger, MORNING)(case)
    assert refused.value.field == "contact_point"
    case.add_contact_point(
        number=stranger, kind="mobile", owner="employer", source="skip_trace", now=NOW
    )
    called(stranger, MORNING, party="employer")(case)
    assert names(case)[-1] == "ContactAttempted"
