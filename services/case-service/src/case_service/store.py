"""The command writer's view of the event store (`executor.CaseStore`), over the library's
application: reads many cases in one query, saves cases with their idempotency records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.postgres import PostgresAggregateRecorder

from case_service.domain import CollectionCase
from case_service.persistence import CaseEventRecorder, IdempotencyRecord


class EventStoreCases:
    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._recorder = cast(CaseEventRecorder, app.recorder)

    def load_many(
        self, case_ids: Sequence[UUID], cached: Sequence[CollectionCase] = ()
    ) -> dict[UUID, CollectionCase]:
        assert self._app.snapshots is not None  # snapshotting is always on (settings)
        snapshots = cast(PostgresAggregateRecorder, self._app.snapshots.recorder)
        known = {case_id: 0 for case_id in case_ids} | {case.id: case.version for case in cached}
        stored = self._recorder.select_current(known, snapshots.events_table_name)
        cases = {case.id: case for case in cached}
        for case_id, records in stored.items():
            events = [self._app.mapper.to_domain_event(record) for record in records]
            case = project_aggregate(cases.get(case_id), events)
            if case is not None:
                cases[case_id] = case
        return cases

    def find_idempotency_many(
        self, claims: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        return self._recorder.find_idempotency_many(claims)

    def save_idempotency(self, record: IdempotencyRecord) -> bool:
        return self._recorder.save_idempotency(record)

    def save(
        self,
        cases: Sequence[CollectionCase],
        idempotency: Sequence[IdempotencyRecord],
        correlations: Sequence[tuple[UUID, int, str]],
    ) -> None:
        # The recorder writes both lists in the transaction that inserts the events.
        self._app.save(*cases, idempotency=list(idempotency), correlations=list(correlations))
