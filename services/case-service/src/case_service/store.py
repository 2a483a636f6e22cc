"""The command writer's view of the event store (`executor.CaseStore`), over the library's
application: reads what a batch needs in one round trip, saves cases with their idempotency
records in one transaction.

`save` is the library's `Application.save` without its generic steps (runtime protocol checks
on every event, a read of the store for each snapshot): the writer's cases are the library's
own aggregates, so their events are collected, mapped and inserted through the application's
mapper and recorder as `Application.save` would, and a snapshot due at a case's current
version is taken from the case in hand (the state the store would rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresAggregateRecorder

from case_service.domain import CollectionCase
from case_service.persistence import CaseEventRecorder, IdempotencyRecord
from case_service.replay import replayed


class EventStoreCases:
    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._recorder = cast(CaseEventRecorder, app.recorder)
        assert app.snapshots is not None  # snapshotting is always on (settings)
        self._snapshots = app.snapshots
        self._snapshots_table = cast(
            PostgresAggregateRecorder, app.snapshots.recorder
        ).events_table_name

    def read(
        self,
        claims: Sequence[tuple[str, str]],
        case_ids: Sequence[UUID],
        cached: Sequence[CollectionCase] = (),
    ) -> tuple[dict[tuple[str, str], IdempotencyRecord], dict[UUID, CollectionCase]]:
        known = {case_id: 0 for case_id in case_ids} | {case.id: case.version for case in cached}
        records, stored = self._recorder.read_batch(claims, known, self._snapshots_table)
        to_domain_event = self._app.mapper.to_domain_event
        cases: dict[UUID, Any] = {case.id: case for case in cached}
        for case_id, rows in stored.items():
            case = replayed(cases.get(case_id), map(to_domain_event, rows))
            if case is not None:
                cases[case_id] = case
        return records, cases

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
        events = [event for case in cases for event in case.collect_events()]
        to_stored_event = self._app.mapper.to_stored_event
        # The recorder writes both lists in the transaction that inserts the events.
        self._recorder.insert_events(
            [to_stored_event(event) for event in events],
            idempotency=list(idempotency),
            correlations=list(correlations),
        )
        interval = self._app.snapshotting_intervals.get(CollectionCase)
        if not interval:
            return
        by_id = {case.id: case for case in cases}
        for event in events:
            version = event.originator_version
            if version % interval:
                continue
            case = by_id[event.originator_id]
            if case.version == version:
                snapshot_class = getattr(type(case), "Snapshot", type(self._app).snapshot_class)
                assert snapshot_class is not None
                self._snapshots.put([snapshot_class.take(case)])
            else:
                self._app.take_snapshot(case.id, version=version)
