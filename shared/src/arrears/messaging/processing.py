"""Applying envelopes to a read model exactly once, each case in version order.

`Applier.apply` takes a batch (one partition's records, or one page of the feed) inside a
transaction the caller owns. For each envelope it checks the subject's last applied version:
at or below it is a duplicate and is skipped; more than one above it is a hole, filled from
case-service (`GapFiller`) before going on. The tracking rows are written in the same
transaction as the handler's changes.

Fast path: the batch runs without savepoints; if a handler raises, the caller rolls back and
runs the batch again `careful=True`, where every handler call has its own savepoint, is
retried with backoff, and after the last attempt is parked for the DLQ (its version still
counts as processed, so the case goes on).

Handlers: `handler(conn, envelope)` per event (always needed: the careful path runs it), and
optionally `batch_handler(conn, envelopes)`, which the fast path then calls once with every
envelope to apply, in order, after deduplication and gap filling (docs/messaging.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.logging import reset_correlation_id, set_correlation_id
from arrears.messaging.envelope import Envelope, EnvelopeError, parse
from arrears.messaging.tracking import claim_event_id, load_versions, save_versions

_log = logging.getLogger(__name__)

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
# Several envelopes at once, in order (cases interleaved, each case's in version order): a
# projection that writes each case once per batch instead of once per event.
BatchHandler = Callable[[AsyncConnection, Sequence[Envelope]], Awaitable[None]]
Upcaster = Callable[[Envelope], Envelope]


class PoisonError(Exception):
    """A message that can never be processed: park it on the DLQ at once, don't retry."""


def event_time(envelope: Envelope) -> datetime:
    """When the event was recorded, from the event itself. Projections never read a clock, so
    a replay on any later day builds the same read model; an event without a time cannot be
    placed in time and is parked."""
    if envelope.time is None:
        raise PoisonError(f"{envelope.event_name} {envelope.id} has no time")
    return envelope.time


class HandlerFailedError(Exception):
    """A handler raised on the fast path; the batch is rolled back and run carefully."""


class GapNotFilledError(Exception):
    """A hole in a case's versions could not be filled (yet); retry the batch later."""


class GapFiller(Protocol):
    async def missing(
        self, subject: str, after_version: int, before_version: int
    ) -> list[Envelope]:
        """The subject's envelopes with after_version < caseversion < before_version."""
        ...


@dataclass(slots=True)  # a rebuild makes one per event: slots make that a third cheaper
class Item:
    """One message: the parsed envelope, or why it could not be parsed; `ref` is opaque."""

    envelope: Envelope | None
    raw: bytes | None
    key: bytes | None
    ref: object = None
    problem: str | None = None


@dataclass
class Parked:
    item: Item
    reason: str


@dataclass
class Outcome:
    applied: int = 0
    duplicates: int = 0
    gap_filled: int = 0
    failures: int = 0
    parked: list[Parked] = field(default_factory=list)


@dataclass
class Applier:
    consumer: str
    handler: Handler
    gaps: GapFiller | None = None
    known_types: Container[str] | None = None
    upcast: Upcaster | None = None
    max_attempts: int = 3
    retry_initial: float = 0.05
    retry_max: float = 1.0
    batch_handler: BatchHandler | None = None
    # An INFO line per event applied, under its correlation id. A rebuild turns it off and
    # logs per page instead: it replays history, and a line per event was ~14 us of CPU
    # each, more than half of what applying one costs.
    note_each: bool = True

    def prepare(self, raw: bytes | None, key: bytes | None, ref: object = None) -> Item:
        """Parse, check the type and upcast; anything off marks the item as poison."""
        try:
            return Item(self.check(parse(raw)), raw, key, ref)
        except (EnvelopeError, PoisonError) as exc:
            return Item(None, raw, key, ref, problem=str(exc))

    def check(self, envelope: Envelope) -> Envelope:
        if self.known_types is not None and envelope.type not in self.known_types:
            raise PoisonError(f"unknown event type {envelope.type!r}")
        if self.upcast is not None:
            try:
                envelope = self.upcast(envelope)
            except Exception as exc:
                raise PoisonError(f"upcast failed: {exc!r}") from exc
        return envelope

    async def apply(
        self, conn: AsyncConnection, items: Sequence[Item], *, careful: bool
    ) -> Outcome:
        outcome = Outcome()
        subjects = [
            e.subject
            for i in items
            if (e := i.envelope) is not None and e.subject and e.caseversion is not None
        ]
        versions = await load_versions(conn, self.consumer, subjects)
        changed: dict[str, tuple[int, str, int | None]] = {}
        batched: list[Envelope] | None = (
            [] if self.batch_handler is not None and not careful else None
        )

        async def handle(item: Item) -> None:
            if batched is not None and item.envelope is not None:
                batched.append(item.envelope)
            else:
                await self._handle(conn, item, outcome, careful=careful)

        for item in items:
            envelope = item.envelope
            if envelope is None:
                outcome.parked.append(Parked(item, f"invalid message: {item.problem}"))
                continue
            subject, version = envelope.subject, envelope.caseversion
            if subject is None or version is None:
                if await claim_event_id(conn, self.consumer, envelope.id):
                    await handle(item)
                else:
                    outcome.duplicates += 1
                continue
            last = versions.get(subject, 0)
            if version <= last:
                outcome.duplicates += 1
                continue
            if version > last + 1:
                for missing in await self._fill(subject, last, version):
                    filled = Item(missing, missing.to_json(), subject.encode())
                    await handle(filled)
                    outcome.gap_filled += 1
            if batched is not None:  # `handle` inlined: no coroutine an event on a batch
                batched.append(envelope)
            else:
                await self._handle(conn, item, outcome, careful=careful)
            versions[subject] = version
            changed[subject] = (version, envelope.id, envelope.sequence)
        if batched:
            await self._handle_batch(conn, batched, outcome)
        await save_versions(conn, self.consumer, [(s, *v) for s, v in changed.items()])
        return outcome

    async def _fill(self, subject: str, last: int, version: int) -> list[Envelope]:
        if self.gaps is None:
            raise GapNotFilledError(
                f"{subject}: versions {last + 1}..{version - 1} missing, no source"
            )
        try:
            found = [self.check(e) for e in await self.gaps.missing(subject, last, version)]
        except PoisonError:
            raise
        except Exception as exc:
            raise GapNotFilledError(
                f"{subject}: fetching versions after {last} failed: {exc!r}"
            ) from exc
        if [e.caseversion for e in found] != list(range(last + 1, version)):
            raise GapNotFilledError(
                f"{subject}: the source did not return versions {last + 1}..{version - 1}"
            )
        return found

    async def _handle(
        self, conn: AsyncConnection, item: Item, outcome: Outcome, *, careful: bool
    ) -> None:
        envelope = item.envelope
        assert envelope is not None
        token = set_correlation_id(envelope.correlationid)
        try:
            if not careful:  # `_fast` inlined: one coroutine an event fewer (a rebuild's)
                try:
                    await self.handler(conn, envelope)
                except Exception as exc:
                    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                        raise
                    raise HandlerFailedError(repr(exc)) from exc
                outcome.applied += 1
                if self.note_each:
                    self._note_handled(envelope)
                return
            reason = await self._handle_carefully(conn, envelope, outcome)
            if reason is None:
                outcome.applied += 1
                self._note_handled(envelope)
            else:
                outcome.parked.append(Parked(item, reason))
        finally:
            reset_correlation_id(token)

    async def _handle_batch(
        self, conn: AsyncConnection, envelopes: list[Envelope], outcome: Outcome
    ) -> None:
        assert self.batch_handler is not None
        await _fast(self.batch_handler(conn, envelopes))
        outcome.applied += len(envelopes)
        if self.note_each and _log.isEnabledFor(logging.INFO):
            for envelope in envelopes:
                token = set_correlation_id(envelope.correlationid)
                try:
                    self._note_handled(envelope)
                finally:
                    reset_correlation_id(token)

    def _note_handled(self, envelope: Envelope) -> None:
        # Under the event's correlation id: `grep <id>` finds what a request caused here.
        # (Handled in the batch's transaction; a batch that fails to commit is handled again.)
        if not self.note_each:
            return
        _log.info(
            "%s handled %s v%s of %s",
            self.consumer,
            envelope.type,
            envelope.caseversion,
            envelope.subject,
        )

    async def _handle_carefully(
        self, conn: AsyncConnection, envelope: Envelope, outcome: Outcome
    ) -> str | None:
        delay = self.retry_initial
        reason = "not attempted"
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with conn.begin_nested():
                    await self.handler(conn, envelope)
                return None
            except PoisonError as exc:
                outcome.failures += 1
                return f"handler rejected the event: {exc}"
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise
                outcome.failures += 1
                reason = f"handler failed {attempt} time(s): {exc!r}"
            except Exception as exc:
                outcome.failures += 1
                reason = f"handler failed {attempt} time(s): {exc!r}"
            if attempt < self.max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
        return reason


async def _fast(handling: Awaitable[None]) -> None:
    """Run a handler on the fast path: a failure becomes HandlerFailedError (the batch is
    applied again carefully), except a lost connection, which the caller retries as is."""
    try:
        await handling
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        raise HandlerFailedError(repr(exc)) from exc
    except Exception as exc:
        raise HandlerFailedError(repr(exc)) from exc
