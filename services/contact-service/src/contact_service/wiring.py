"""Wiring the shared outbox (arrears.outbox) and the workers into a running service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from arrears.messaging import FeedClient

from contact_service.context import Context
from contact_service.workers import ServiceToken, make_consumer, running


@contextlib.asynccontextmanager
async def start_outbox(ctx: Context, *, publish: bool) -> AsyncIterator[None]:
    """Set ctx.emit / ctx.commands; with `publish`, run the publisher and the forwarder."""
    # Filled in against arrears.outbox once it lands.
    yield


@contextlib.asynccontextmanager
async def start_workers(ctx: Context) -> AsyncIterator[None]:
    feed = FeedClient(ctx.settings.case_service_url, ServiceToken(ctx.settings))
    consumer = make_consumer(ctx, feed)
    try:
        async with running([consumer.run]):
            yield
    finally:
        await feed.aclose()
