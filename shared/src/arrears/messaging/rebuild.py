"""Rebuild a read model from case-service's feed, then let the Kafka consumer carry on.

`rebuild` resets the read model and everything the consumer remembers, in one transaction,
then applies the feed page by page (each page one transaction, through the same `Applier`
the consumer uses). Hand-over needs no coordination: when the consumer resumes from its
committed offsets, every event the rebuild already applied is at or below its case's
recorded version and is skipped, and any case whose next Kafka record is ahead of the
rebuild gets the versions in between from the feed first. So nothing is missed or doubled.
Stop the consumer during a rebuild to keep the read model from being seen half-built.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.heap import fewer_collections
from arrears.messaging.envelope import Envelope
from arrears.messaging.gaps import FeedPage, next_after_of, parse_page
from arrears.messaging.processing import Applier, HandlerFailedError, Item
from arrears.messaging.tracking import create_tracking_tables, forget_consumer

_log = logging.getLogger(__name__)

Reset = Callable[[AsyncConnection], Awaitable[None]]
# Work on each page before it is applied, in the fetching task (so it overlaps the applying
# of the page before): contact-service asks for a page's subject keys at once.
Prepare = Callable[[list[Envelope]], Awaitable[object]]


class Pages(Protocol):
    """Where the pages come from: case-service's feed (`FeedClient`), or anything paging the
    same way (a wrapper preparing each page as it arrives, a test's list)."""

    async def page(self, after: int, limit: int = 1000) -> FeedPage: ...


@runtime_checkable
class RawPages(Protocol):
    """A feed that also hands out a page's body unparsed (`FeedClient`): the rebuild then
    asks for the next page before parsing this one, so case-service reads and encodes it
    while this process parses and applies."""

    async def page(self, after: int, limit: int = 1000) -> FeedPage: ...

    async def page_body(self, after: int, limit: int = 1000) -> bytes: ...


@dataclass(frozen=True)
class RebuildReport:
    events: int
    applied: int
    sequence: int  # the feed position the rebuild reached
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(
    engine: AsyncEngine,
    applier: Applier,
    feed: Pages,
    reset: Reset,
    *,
    page_size: int = 10_000,
    until: int | None = None,
    ahead: int = 1,
    prepare: Prepare | None = None,
) -> RebuildReport:
    """Reset and replay; stops at the feed's head (or `until`) as seen when it gets there."""
    started = time.perf_counter()
    applier = dataclasses.replace(applier, note_each=False)  # one line per page instead
    # Gen-0 collections every 100,000 allocations (a few per page) rather than a server's
    # 20,000: ~1 us less per event in an A/B with the pages held in memory.
    with fewer_collections(gen0=100_000):
        await create_tracking_tables(engine)
        async with engine.begin() as conn:
            await reset(conn)
            await forget_consumer(conn, applier.consumer)
        # While one page is applied, `ahead` more wait parsed and the fetching task has the
        # next one requested (case-service encodes it in its own process meanwhile), so
        # case-service works a page ahead of need; a page of 10,000 is ~20 MB parsed. Pages
        # are still applied strictly in feed order, each in one transaction.
        pages: asyncio.Queue[list[Envelope] | None] = asyncio.Queue(maxsize=max(1, ahead))
        fetching = asyncio.create_task(_fetch(feed, page_size, until, pages, prepare))
        after, events, applied = 0, 0, 0
        try:
            while (envelopes := await pages.get()) is not None:
                applied += await _apply_page(engine, applier, envelopes)
                events += len(envelopes)
                after = envelopes[-1].sequence or after
                _log.info(
                    "%s rebuilt up to sequence %s: %d events", applier.consumer, after, events
                )
            await fetching  # raises what stopped the fetching early, if anything did
        finally:
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await fetching
    return RebuildReport(events, applied, after, time.perf_counter() - started)


async def _fetch(
    feed: Pages,
    page_size: int,
    until: int | None,
    pages: asyncio.Queue[list[Envelope] | None],
    prepare: Prepare | None = None,
) -> None:
    """Pages in feed order into `pages`, then None; a failed fetch also ends with None (the
    failure is this task's result, raised by `rebuild` once it has taken the None)."""
    after = 0
    ahead: asyncio.Future[bytes] | None = None
    try:
        while True:
            if isinstance(feed, RawPages):
                body = await (ahead or asyncio.ensure_future(feed.page_body(after, page_size)))
                ahead = None
                following = next_after_of(body)
                if following is not None and following != after:  # not empty: ask already
                    ahead = asyncio.ensure_future(feed.page_body(following, page_size))
                page = parse_page(body)
                if following is not None and following != page.next_after:
                    raise ValueError("the feed page's end disagrees with its parsed next_after")
            else:
                page = await feed.page(after, page_size)
            envelopes = page.envelopes  # the page's own list: no copy unless `until` cuts it
            if until is not None:
                envelopes = [e for e in envelopes if (e.sequence or 0) <= until]
            if envelopes:
                if prepare is not None:
                    await prepare(envelopes)
                await pages.put(envelopes)
            if not page.envelopes or len(envelopes) < len(page.envelopes):
                break
            after = page.next_after
    except Exception:
        await pages.put(None)
        raise
    finally:
        if ahead is not None:  # stopped at `until`, or failed: the page asked ahead is unused
            ahead.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await ahead
    await pages.put(None)


async def _apply_page(engine: AsyncEngine, applier: Applier, envelopes: list[Envelope]) -> int:
    """One page in one transaction; on a handler's failure again event by event (parking
    what fails). Returns how many events were applied."""
    # No Kafka record behind a page's event: no raw value or key to keep for the DLQ (a
    # rebuild parks nothing there), and no call per event when there is nothing to check.
    checking = applier.known_types is not None or applier.upcast is not None
    checked = [applier.check(e) for e in envelopes] if checking else envelopes
    items = [Item(e, None, None) for e in checked]
    try:
        async with engine.begin() as conn:
            outcome = await applier.apply(conn, items, careful=False)
    except HandlerFailedError:
        async with engine.begin() as conn:
            outcome = await applier.apply(conn, items, careful=True)
    return outcome.applied
