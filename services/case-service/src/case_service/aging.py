"""The daily aging job: walk every case and let it record what today changed.

Bucket moves, broken promises and new risk grades are the case's own rules (`CollectionCase.age`);
this job only walks the portfolio in id order and commits in chunks through the same batching
writer as the API. Running it twice for one day records nothing new.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from case_service.aging_days import AgingDayRefused, AgingDays
from case_service.application import CaseApplication
from case_service.commands import Command
from case_service.domain import CollectionCase


@dataclass
class AgingReport:
    as_of: date
    cases: int = 0
    events: Counter[str] = field(default_factory=Counter)
    failures: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "cases": self.cases,
            "events": dict(self.events),
            "failures": self.failures,
        }


def run_daily_aging(
    app: CaseApplication, today: date | None = None, chunk: int = 1000
) -> AgingReport:
    """Age every open case to `today`; AgingDayRefused for a day that may not be aged to."""
    today = today or app.today()
    now = app.clock.now()
    days = AgingDays(app.recorder_.datastore)
    days.check(today, now)
    report = AgingReport(as_of=today)

    def age(case: CollectionCase) -> None:
        case.age(today=today, now=now, policy=app.policy)

    after = None
    while case_ids := app.open_case_ids(after=after, limit=chunk):
        outcomes = app.execute_all([Command(case_id, age) for case_id in case_ids])
        for outcome in outcomes:
            report.cases += 1
            report.failures += outcome.error is not None
            report.events.update(outcome.events)
        after = case_ids[-1]
    days.record(today)
    return report


def main() -> None:
    from case_service.settings import CaseServiceSettings

    parser = argparse.ArgumentParser(description="Run the daily aging of every case.")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        help="the day to age to (default: today, the bank's business date)",
    )
    args = parser.parse_args()
    app = CaseApplication(CaseServiceSettings())
    try:
        print(run_daily_aging(app, args.date).as_dict())
    except AgingDayRefused as exc:
        raise SystemExit(f"aging refused: --date {exc}") from None
    finally:
        app.close()


if __name__ == "__main__":
    main()
