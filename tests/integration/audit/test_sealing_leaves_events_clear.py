"""Sealing personal data for the store works on copies: the domain events and the case the
writer keeps hold their clear values after their records were made (pii/mapper.py)."""

from __future__ import annotations

import copy

from arrears.clock import Clock
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.pii.fields import is_sealed

from .conftest import open_fields


def test_records_are_sealed_and_the_events_and_case_keep_their_clear_values(
    cases: CaseApplication, clock: Clock
) -> None:
    case = CollectionCase.open(**open_fields("L-CLEAR"), now=clock.now(), policy=cases.policy)
    case.record_contact_attempt(
        channel="call",
        party="borrower",
        contact_point="+8613800000001",
        outcome="no_answer",
        occurred_at=clock.now(),
        notes="rang out",
        now=clock.now(),
    )
    events = case.collect_events()
    before = [copy.deepcopy(vars(event)) for event in events]
    borrower = copy.deepcopy(case.borrower)

    records = [cases.mapper.to_stored_event(event) for event in events]
    opened, attempted = (
        cases.mapper.cipher.decrypt(r.state)  # type: ignore[union-attr]
        for r in records
    )

    assert [vars(event) for event in events] == before
    assert case.borrower == borrower
    assert b"+8613800000001" not in attempted
    assert b"rang out" not in attempted
    assert b"Li Wei" not in opened
    state = cases.mapper.transcoder.decode(attempted)
    assert is_sealed(state["contact_point"])
    assert is_sealed(state["notes"])
    keys = cases.subject_keys
    assert keys is not None
    keys.abandoned(keys.take_pending([case.id]))
