"""Jurisdiction, candidate time zones and contact points: the facts the contact guard uses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from case_service.domain import CasePolicy, CommandForbidden, InvalidCommand
from case_service.domain.events import CaseOpened

from .helpers import NOW, borrower, given, names, new_events, open_case


def test_a_case_opened_without_a_jurisdiction_is_cn_by_default() -> None:
    case = open_case()
    [event] = new_events(case)
    assert event.jurisdiction == case.jurisdiction == "CN"
    assert case.view(NOW.date())["jurisdiction"] == "CN"


def test_a_jurisdiction_given_on_opening_is_the_cases() -> None:
    case = open_case(jurisdiction="US-RegF")
    assert case.jurisdiction == "US-RegF"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"currency": "USD"}, "US-RegF"),
        ({"currency": "GBP"}, "UK-CONC"),
        ({"currency": "USD", "borrower": borrower(country="GB")}, "UK-CONC"),
        ({"currency": "CNY", "borrower": borrower(country="US")}, "US-RegF"),
        ({"currency": "EUR"}, "CN"),
    ],
)
def test_the_rule_derives_the_jurisdiction_from_country_then_currency(
    overrides: dict[str, Any], expected: str
) -> None:
    assert open_case(**overrides).jurisdiction == expected


def test_the_product_rule_wins_and_is_configurable() -> None:
    policy = CasePolicy(jurisdiction_by_product=(("us_card", "US-RegF"),))
    case = open_case(product="us_card", currency="CNY", policy=policy)
    assert case.jurisdiction == "US-RegF"


def test_an_unknown_jurisdiction_is_refused() -> None:
    with pytest.raises(InvalidCommand) as error:
        open_case(jurisdiction="FR")
    assert error.value.field == "jurisdiction"


def test_candidate_zones_are_part_of_case_opened_and_the_view() -> None:
    case = open_case(
        borrower=borrower(candidate_timezones=["America/Los_Angeles", "Asia/Shanghai"])
    )
    [event] = new_events(case)
    # The primary zone is not repeated as a candidate.
    assert event.borrower["candidate_timezones"] == ["America/Los_Angeles"]
    view = case.view(NOW.date())
    assert view["borrower"]["candidate_timezones"] == ["America/Los_Angeles"]
    assert view["candidate_timezones"] == ["America/Los_Angeles"]


@pytest.mark.parametrize(
    "zone", ["localtime", "UTC", "PRC", "Etc/GMT+8", "US/Pacific", "Mars/Base"]
)
def test_a_zone_that_is_not_an_iana_region_is_refused(zone: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        open_case(borrower=borrower(candidate_timezones=[zone]))
    assert error.value.field == "borrower.candidate_timezones.0"
    with pytest.raises(InvalidCommand) as error:
        open_case(borrower=borrower(timezone=zone))
    assert error.value.field == "borrower.timezone"


def test_a_version_1_case_opened_is_upcast_to_cn_without_candidate_zones() -> None:
    state: dict[str, Any] = {"borrower": {"timezone": "Asia/Shanghai"}, "loan_id": "L-1"}
    CaseOpened.upcast_v1_v2(state)
    assert state["jurisdiction"] == "CN"
    assert state["borrower"]["candidate_timezones"] == []
    assert CaseOpened.class_version == 2


def test_a_jurisdiction_change_is_its_own_event() -> None:
    case = given()
    case.change_jurisdiction(
        jurisdiction="UK-CONC", reason="moved to London", changed_at=NOW, now=NOW
    )
    [event] = new_events(case)
    assert type(event).__name__ == "JurisdictionChanged"
    assert (event.from_jurisdiction, event.to_jurisdiction) == ("CN", "UK-CONC")
    assert case.jurisdiction == "UK-CONC"
    with pytest.raises(CommandForbidden):
        case.change_jurisdiction(jurisdiction="UK-CONC", reason="again", changed_at=NOW, now=NOW)


def test_a_contact_point_is_added_with_its_owner_source_and_zone() -> None:
    case = given()
    case.add_contact_point(
        number="+1 415 555 0100",
        owner="spouse",
        source="skip_trace",
        timezone="America/Los_Angeles",
        now=NOW,
    )
    [event] = new_events(case)
    assert type(event).__name__ == "ContactPointAdded"
    assert (event.owner, event.source, event.kind, event.channel_kind) == (
        "spouse",
        "skip_trace",
        "mobile",
        "phone",
    )
    assert case.contact_points[0]["contact_point"] == "+1 415 555 0100"
    assert case.candidate_timezones == ["America/Los_Angeles"]
    assert case.view(NOW.date())["contact_points"][0]["owner"] == "spouse"


def test_a_number_the_case_already_knows_is_not_added_twice() -> None:
    case = given()
    with pytest.raises(CommandForbidden) as error:
        case.add_contact_point(
            number="+86 138-0000-0001", owner="borrower", source="borrower", now=NOW
        )
    assert error.value.field == "phone"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "number"),
        ({"number": "+8613800000099", "email": "a@b.cn"}, "number"),
        ({"email": "li@example.com", "kind": "mobile"}, "kind"),
        ({"number": "+8613800000099", "owner": "neighbour"}, "owner"),
        ({"number": "+8613800000099", "source": "rumour"}, "source"),
        ({"number": "+8613800000099", "timezone": "localtime"}, "timezone"),
        ({"number": "+8613800000099", "added_at": NOW + timedelta(days=1)}, "added_at"),
    ],
)
def test_a_contact_point_needs_valid_fields(fields: dict[str, Any], field: str) -> None:
    case = given()
    body: dict[str, Any] = {"owner": "borrower", "source": "borrower", **fields}
    with pytest.raises(InvalidCommand) as error:
        case.add_contact_point(**body, now=NOW)
    assert error.value.field == field


def test_a_timezone_candidate_is_added_by_its_own_event() -> None:
    case = given()
    case.add_timezone_candidate(timezone="Pacific/Auckland", source="address", now=NOW)
    assert names(case) == ["TimezoneCandidateAdded"]
    assert case.candidate_timezones == ["Pacific/Auckland"]
    with pytest.raises(CommandForbidden):
        case.add_timezone_candidate(timezone="Asia/Shanghai", source="address", now=NOW)
