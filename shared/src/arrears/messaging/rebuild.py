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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.messaging.gaps import FeedClient, FeedPage
from arrears.messaging.processing import Applier, HandlerFailedError, Item
from arrears.messaging.tracking import create_tracking_tables, forget_consumer

Reset = Callable[[AsyncConnection], Awaitable[None]]


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
    feed: FeedClient,
    reset: Reset,
    *,
    page_size: int = 5000,
    until: int | None = None,
) -> RebuildReport:
    """Reset and replay; stops at the feed's head (or `until`) as seen when it gets there."""
    started = time.perf_counter()
    await create_tracking_tables(engine)
    async with engine.begin() as conn:
        await reset(conn)
        await forget_consumer(conn, applier.consumer)
    after, events, applied = 0, 0, 0
    # The next page is fetched while this one is applied (case-service encodes it in its own
    # process meanwhile); pages are still applied strictly in feed order.
    ahead: asyncio.Future[FeedPage] | None = asyncio.ensure_future(feed.page(after, page_size))
    try:
        while ahead is not None:
            page = await ahead
            ahead = None
            envelopes = [e for e in page.envelopes if until is None or (e.sequence or 0) <= until]
            if page.envelopes and len(envelopes) == len(page.envelopes):
                ahead = asyncio.ensure_future(feed.page(page.next_after, page_size))
            if envelopes:
                items = [
                    Item(applier.check(e), None, (e.subject or "").encode()) for e in envelopes
                ]
                try:
                    async with engine.begin() as conn:
                        outcome = await applier.apply(conn, items, careful=False)
                except HandlerFailedError:  # again event by event, parking what fails
                    async with engine.begin() as conn:
                        outcome = await applier.apply(conn, items, careful=True)
                events += len(envelopes)
                applied += outcome.applied
                after = envelopes[-1].sequence or page.next_after
    finally:
        if ahead is not None:
            ahead.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await ahead
    return RebuildReport(events, applied, after, time.perf_counter() - started)
