"""Which days the portfolio has been aged to, so aging never runs to a day it may not.

Aging records irreversible facts (broken promises, bucket moves), so a run is refused for a
day after today (in the zone furthest ahead, so no borrower's today is refused) or before the
last day already aged to; the same check guards the HTTP job, the CLI and the CronJob.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

# UTC+14 (Line Islands) is the earliest "today" on Earth.
FURTHEST_AHEAD = timedelta(hours=14)


class AgingDayRefused(ValueError):
    """`as_of` lies outside what may be aged to now."""


def latest_agable_day(now: datetime) -> date:
    return (now + FURTHEST_AHEAD).date()


class AgingDays:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        table = Identifier(datastore.schema or "public"), Identifier("aging_days")
        self._last = SQL("SELECT max(as_of) AS last FROM {}.{}").format(*table)
        self._record = SQL("INSERT INTO {}.{} (as_of) VALUES (%s) ON CONFLICT DO NOTHING").format(
            *table
        )

    def last(self) -> date | None:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._last)
            row = cursor.fetchone()
        return None if row is None else row["last"]

    def check(self, as_of: date, now: datetime) -> None:
        """Raise AgingDayRefused unless the portfolio may be aged to `as_of` now."""
        latest = latest_agable_day(now)
        if as_of > latest:
            raise AgingDayRefused(f"must not be after {latest.isoformat()} (today)")
        last = self.last()
        if last is not None and as_of < last:
            raise AgingDayRefused(
                f"must not be before {last.isoformat()}, the last day already aged to"
            )

    def record(self, as_of: date) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(self._record, (as_of,))
