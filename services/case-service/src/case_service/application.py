"""The case-service application: one method per use case over the event store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from arrears.business_date import business_date
from arrears.clock import Clock, clock_from
from arrears.logging import get_correlation_id
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder

from case_service.cipher import FastAESCipher
from case_service.commands import (
    CaseNotFound,
    Command,
    IdempotencyClaim,
    IdempotencyConflict,
    Outcome,
)
from case_service.daily_file import (
    BegunChunk,
    DailyFileWriter,
    MissedInstallment,
    Prepared,
    Workers,
)
from case_service.daily_file.warm import Ranges
from case_service.domain import CasePolicy, CollectionCase
from case_service.domain.events import CaseEvent
from case_service.executor import CommandExecutor
from case_service.migrations import MIGRATIONS
from case_service.persistence import CaseEventRecorder, DateAsISO, IdempotencyRecord
from case_service.pii.keys import SubjectKeys, ref_key_from
from case_service.pii.mapper import PersonalDataMapper
from case_service.replay import replayed
from case_service.settings import CaseServiceSettings, eventsourcing_env
from case_service.store import EventStoreCases


class CaseApplication(Application[UUID]):
    """The only door into the write side: the API, aging and the CLI call these methods; the
    command writer behind them sees the store only through `executor.CaseStore`."""

    name = "Cases"  # tables: cases_events, cases_snapshots

    def __init__(
        self,
        settings: CaseServiceSettings,
        clock: Clock | None = None,
        policy: CasePolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or clock_from(settings.clock_file)
        self.policy = policy or CasePolicy(
            promise_horizon_days=settings.promise_horizon_days,
            limitation_years=settings.limitation_years,
            default_jurisdiction=settings.default_jurisdiction,
            lost_contact_caller_lines=tuple(settings.lost_contact_caller_lines),
            jurisdiction_by_product=tuple(settings.jurisdiction_by_product.items()),
            jurisdiction_by_country=tuple(settings.jurisdiction_by_country.items()),
            jurisdiction_by_currency=tuple(settings.jurisdiction_by_currency.items()),
            business_timezone=settings.business_timezone,
        )
        # Our own tables first (the library then creates its own): at head, or SchemaBehind.
        MIGRATIONS.prepare(settings.database_url, migrate=settings.migrate_on_start)
        # The interval is a setting, so it is set per instance; the library reads it there.
        self.snapshotting_intervals = {CollectionCase: settings.snapshot_interval}  # type: ignore[misc]
        super().__init__(env=eventsourcing_env(settings))
        # Personal data is sealed per subject whenever there is a master key to wrap keys.
        self.subject_keys: SubjectKeys | None = None
        if settings.cipher_key and isinstance(self.mapper.cipher, FastAESCipher):
            self.subject_keys = SubjectKeys(
                self.recorder_.datastore,
                self.mapper.cipher,
                ref_key_from(settings.cipher_key, settings.subject_ref_key),
                ttl_seconds=settings.subject_key_cache_seconds,
            )
            self.personal_mapper.keys = self.subject_keys
            self.recorder_.subject_keys = self.subject_keys
        self._executor = CommandExecutor(
            EventStoreCases(self),
            max_batch=settings.command_batch_max,
            linger_seconds=settings.command_batch_linger_ms / 1000,
            cache_size=settings.aggregate_cache_size,
            other_writers=settings.http_workers > 1 or settings.shared_store_writers,
        )

        assert self.snapshots is not None  # snapshotting is always on (settings)
        self._workers = Workers(settings)
        self._daily_file = DailyFileWriter(
            recorder=self.recorder_,
            reader=self.personal_mapper.sealed_view(),
            writer=self.mapper,
            snapshots_table=cast(
                PostgresAggregateRecorder, self.snapshots.recorder
            ).events_table_name,
            subject_keys=self.subject_keys,
            fallback=self._executor.execute_all,
            written=self._executor.forget,
            workers=self._workers,
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_mapper(self) -> Mapper[UUID]:
        base: Mapper[UUID] = self.factory.mapper(transcoder=self.construct_transcoder())
        return PersonalDataMapper(base.transcoder, base.compressor, base.cipher)

    @property
    def personal_mapper(self) -> PersonalDataMapper:
        return cast(PersonalDataMapper, self.mapper)

    @property
    def recorder_(self) -> CaseEventRecorder:
        return cast(CaseEventRecorder, self.recorder)

    def start_daily_file_workers(self) -> None:
        """Start the processes that prepare large daily files (DAILY_FILE_WORKERS), in the
        background: the server process owning this application calls it once."""
        self._workers.start()

    def close(self) -> None:
        self._workers.close()
        self._executor.close()
        super().close()

    # --- reading ------------------------------------------------------------------------

    def load(self, case_id: UUID) -> CollectionCase:
        """The case's current state, from its latest snapshot and the events after it."""
        return cast(CollectionCase, self.repository.get(case_id, projector_func=replayed))

    def case(self, case_id: UUID, version: int | None = None) -> CollectionCase:
        try:
            if version is None:
                return self.load(case_id)
            return cast(
                CollectionCase,
                self.repository.get(case_id, version=version, projector_func=replayed),
            )
        except AggregateNotFoundError:
            raise CaseNotFound(case_id) from None

    def case_as_of(self, case_id: UUID, moment: datetime) -> CollectionCase:
        """The case as it stood at `moment` by recorded time (the database's clock when each
        event was written, not the business clock): every event recorded at or before it."""
        version = self.recorder_.version_recorded_by(case_id, moment)
        if version == 0:
            raise CaseNotFound(case_id)
        return self.case(case_id, version=version)

    def history(self, case_id: UUID) -> Iterator[CaseEvent]:
        events = cast(Iterator[CaseEvent], self.events.get(case_id))
        first = next(events, None)
        if first is None:
            raise CaseNotFound(case_id)
        yield first
        yield from events

    def open_case_ids(self, after: UUID | None = None, limit: int = 1000) -> list[UUID]:
        """Case ids in id order, for jobs that walk the portfolio (aging)."""
        return self.recorder_.case_ids(after=after, limit=limit)

    # --- writing ------------------------------------------------------------------------

    def open_case(self, **fields: Any) -> tuple[CollectionCase, bool]:
        """Open the case for a loan; the same loan returns its existing case (created=False)."""
        case_id = CollectionCase.id_for_loan(str(fields["loan_id"]))
        try:
            return self.load(case_id), False
        except AggregateNotFoundError:
            pass
        case = CollectionCase.open(**fields, now=self.clock.now(), policy=self.policy)
        correlation_id = get_correlation_id()
        correlations = [(case.id, 1, correlation_id)] if correlation_id else []
        try:
            self.save(case, correlations=correlations)
        except IntegrityError:  # opened concurrently by another request
            return self.load(case_id), False
        return case, True

    def execute(self, command: Command) -> Outcome:
        """Run one command on the writer thread and wait for its outcome."""
        return self._executor.execute(command)

    async def execute_async(self, command: Command) -> Outcome:
        """The same, awaited: no worker thread is held while the writer runs it."""
        return await self._executor.execute_async(command)

    def execute_all(self, commands: Sequence[Command]) -> list[Outcome]:
        """Run many commands (the daily file, aging), committed in chunks, one outcome each."""
        return self._executor.execute_all(commands)

    def begin_missed_installments(
        self, items: list[MissedInstallment], total: int, now: datetime
    ) -> BegunChunk | None:
        """The daily file's first items handed to the workers while the rest is still read
        (daily_file/bulk.py, `begin`); nothing is appended unless `record_missed_installments`
        takes it."""
        return self._daily_file.begin(items, total, now)

    def record_missed_installments(
        self, items: Sequence[MissedInstallment], now: datetime, begun: BegunChunk | None = None
    ) -> list[Outcome]:
        """The daily file: each item checked by its case's rules, recorded in bulk (many cases
        per read and per transaction, daily_file/bulk.py), one outcome per item."""
        return self._daily_file.record(items, now, begun)

    def prepare_missed_installments(
        self, items: Sequence[MissedInstallment], now: datetime
    ) -> Prepared:
        """A daily file worker's part: the items checked and their events encoded, not yet
        appended (the requesting process appends them, daily_file/workers.py)."""
        return self._daily_file.prepare(items, now)

    def confirm_prepared_installments(
        self, events: Sequence[StoredEvent], stored_at: Ranges
    ) -> None:
        """A worker's part (`prepare_missed_installments`) is committed, its events at these
        ranges of notification ids: its warm cases need not read them back."""
        self._daily_file.confirm(events, stored_at)

    def daily_file_followed(self) -> int:
        """The rows the daily file's warm cases read in the store's tail (daily_file/warm.py)."""
        return self._daily_file.followed

    def stored_reply(self, claim: IdempotencyClaim) -> IdempotencyRecord | None:
        """The answer already given to this Idempotency-Key, if any; IdempotencyConflict when
        the key came with a different request."""
        stored = self.recorder_.find_idempotency(claim.scope, claim.key)
        if stored is not None and stored.request_hash != claim.request_hash:
            raise IdempotencyConflict(claim.key)
        return stored

    def remember_reply(self, claim: IdempotencyClaim, status: int, body: dict[str, Any]) -> None:
        """Keep the answer to a request that recorded no command event (opening a case)."""
        self.recorder_.save_idempotency(
            IdempotencyRecord(claim.key, claim.scope, claim.request_hash, status, body)
        )

    def check_database(self) -> None:
        """Raise unless the event store answers a query."""
        with self.recorder_.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT 1")

    def today(self) -> date:
        """The bank's business date now: what days past due and buckets count on."""
        return business_date(self.clock.now(), self.settings.business_timezone)
