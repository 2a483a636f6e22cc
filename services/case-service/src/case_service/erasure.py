"""The erasure job: every closed case whose retention has ended, and no legal hold blocks,
has its personal data erased (docs/audit.md, "Personal data and erasure").

Per case: the case records `PersonalDataErased` (the proof of when and under which rule),
then its subjects' keys are destroyed and its snapshots (a cache sealed with those keys)
deleted. A run that stopped between the two steps is finished by the next: a case that says
it was erased has its keys destroyed again (a no-op once done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from case_service.application import CaseApplication
from case_service.commands import Command
from case_service.domain import CollectionCase


class ErasureDayRefused(ValueError):
    """`as_of` lies after today: erasure is irreversible, so it never runs ahead."""


@dataclass
class ErasureReport:
    as_of: date
    examined: int = 0
    erased: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "examined": self.examined,
            "erased": self.erased,
            "held": self.held,
            "failures": self.failures,
        }


def destroy_keys(app: CaseApplication, case_id: UUID) -> list[str]:
    """Destroy the case's subject keys and delete its snapshots; the subjects erased now."""
    erased = app.subject_keys.erase_case(case_id) if app.subject_keys else []
    assert app.snapshots is not None
    snapshots = app.snapshots.recorder
    assert isinstance(snapshots, PostgresAggregateRecorder)
    statement = SQL("DELETE FROM {}.{} WHERE originator_id = %s").format(
        Identifier(snapshots.datastore.schema or "public"),
        Identifier(snapshots.events_table_name),
    )
    with snapshots.datastore.transaction(commit=True) as curs:
        curs.execute(statement, (case_id,))
    return erased


def run_erasure(app: CaseApplication, as_of: date | None = None, chunk: int = 500) -> ErasureReport:
    today = app.today()
    as_of = as_of or today
    if as_of > today:
        raise ErasureDayRefused(f"must not be after today ({today.isoformat()})")
    years = dict(app.settings.retention_years)
    now = app.clock.now()
    report = ErasureReport(as_of=as_of)

    def erase(case: CollectionCase) -> None:
        case.erase_personal_data(as_of=as_of, years_by_jurisdiction=years, now=now)

    after = None
    while case_ids := app.open_case_ids(after=after, limit=chunk):
        after = case_ids[-1]
        due: list[UUID] = []
        for case_id in case_ids:
            case = app.load(case_id)
            report.examined += 1
            if case.erased_on is not None:
                destroy_keys(app, case_id)  # finishes a run that stopped half-way
            elif case.legal_holds and case.retention_ended(as_of, years):
                report.held.append(str(case_id))
            elif case.erasure_due(as_of, years):
                due.append(case_id)
        for outcome in app.execute_all([Command(case_id, erase) for case_id in due]):
            if outcome.error is not None:
                report.failures += 1
                continue
            destroy_keys(app, outcome.case_id)
            report.erased.append(str(outcome.case_id))
    return report
