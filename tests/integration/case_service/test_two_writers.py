"""Two application processes writing one store: a writer's cached case may be behind the store.
The save then meets the store's version check and the command is redone on a fresh read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from arrears.clock import ManualClock
from case_service.application import CaseApplication
from case_service.commands import Command, VersionMismatch
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings

PAID_AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def pay(reference: str, amount: str = "10.00") -> Callable[[CollectionCase], None]:
    def action(case: CollectionCase) -> None:
        case.record_payment(
            amount=Decimal(amount), paid_at=PAID_AT, reference=reference, now=PAID_AT
        )

    return action


@pytest.fixture
def other_writer(
    case_settings: CaseServiceSettings, clock: ManualClock
) -> Iterator[CaseApplication]:
    application = CaseApplication(case_settings, clock=clock)
    yield application
    application.close()


@pytest.fixture(params=[1, 2], ids=["one-worker", "several-workers"])
def writer(
    request: pytest.FixtureRequest, case_settings: CaseServiceSettings, clock: ManualClock
) -> Iterator[CaseApplication]:
    """One worker: a stale case meets the version check. Several: it is refreshed per batch."""
    settings = case_settings.model_copy(update={"http_workers": request.param})
    application = CaseApplication(settings, clock=clock)
    yield application
    application.close()


def test_a_writer_behind_the_store_loses_no_update(
    writer: CaseApplication,
    other_writer: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    cases = writer
    case_id = UUID(open_case())
    missed(str(case_id), 1, "2026-10-01", "1000.00")
    assert cases.execute(Command(case_id, pay("P-1"))).error is None  # now cached in `cases`
    assert other_writer.execute(Command(case_id, pay("P-2"))).error is None

    outcome = cases.execute(Command(case_id, pay("P-3")))

    assert outcome.error is None
    assert outcome.version == 5
    state = cases.case(case_id)
    assert state.arrears_on(PAID_AT.date()) == Decimal("970.00")
    assert [e.originator_version for e in cases.history(case_id)] == [1, 2, 3, 4, 5]


def test_if_match_is_checked_against_the_store_not_a_stale_cache(
    cases: CaseApplication,
    other_writer: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = UUID(open_case())
    missed(str(case_id), 1, "2026-10-01", "1000.00")
    cases.execute(Command(case_id, pay("P-1")))  # cached at version 3
    other_writer.execute(Command(case_id, pay("P-2")))  # the store is at version 4

    fresh = cases.execute(Command(case_id, pay("P-3"), expected_version=4))
    stale = cases.execute(Command(case_id, pay("P-4"), expected_version=4))

    assert fresh.error is None
    assert fresh.version == 5
    assert isinstance(stale.error, VersionMismatch)
    assert stale.error.actual == 5


def test_the_daily_file_and_single_commands_share_one_writer(
    cases: CaseApplication, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = UUID(open_case())
    missed(str(case_id), 1, "2026-10-01", "1000.00")
    references = [f"P-{n}" for n in range(300)]

    outcomes = cases.execute_all([Command(case_id, pay(r, "1.00")) for r in references])

    assert [o.error for o in outcomes] == [None] * 300
    assert [o.version for o in outcomes] == list(range(3, 303))
    reread = cases.load(case_id)
    assert reread.version == 302


def test_a_closed_writer_refuses_commands_instead_of_leaving_them_waiting(
    case_settings: CaseServiceSettings, clock: ManualClock, open_case: Callable[..., str]
) -> None:
    case_id = UUID(open_case())
    application = CaseApplication(case_settings, clock=clock)
    application.close()

    with pytest.raises(RuntimeError, match="shutting down"):
        application.execute(Command(case_id, pay("P-late")))
