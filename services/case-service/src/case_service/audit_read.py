"""The auditor's reading of a case: its history and its state, printed as JSON."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from case_service.application import CaseApplication
from case_service.domain import event_payload


def print_history(app: CaseApplication, case_id: UUID) -> None:
    """One JSON line per event: `recorded_at` by the database, `business_time` by the
    clock of the command (simulated in the demo)."""
    events = list(app.history(case_id))
    recorded = app.recorder_.recorded_times(case_id)
    for event in events:
        at = recorded.get(event.originator_version)
        line = {
            "version": event.originator_version,
            "type": type(event).__name__,
            "recorded_at": at.isoformat() if at else None,
            "business_time": event.timestamp.isoformat(),
            "data": event_payload(event),
        }
        print(json.dumps(line, ensure_ascii=False))


def print_state(
    app: CaseApplication, case_id: UUID, *, version: int | None, as_of: datetime | None
) -> None:
    if as_of is not None:
        case = app.case_as_of(case_id, as_of)
        day = as_of.date()
    else:
        case = app.case(case_id, version=version)
        day = case.modified_on.date() if version else app.today()
    view = case.view(day)
    if as_of is not None:
        view["as_of_basis"] = "recorded_time"
    print(json.dumps(view, indent=2, ensure_ascii=False))
