"""The background workers `python -m contact_service` runs beside the API: the case-event
consumer (the projection), and the outbox workers (task publisher, command forwarder)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from arrears.auth import ServiceToken
from arrears.messaging import ConsumerConfig, FeedClient, IdempotentConsumer

from contact_service.context import Context
from contact_service.projections import Projection
from contact_service.settings import ContactServiceSettings

log = logging.getLogger("contact_service.workers")
KNOWN_EVENTS = None  # every case event type is accepted; unknown ones only move the version


def service_token(settings: ContactServiceSettings) -> ServiceToken:
    """The bearer token this service sends to case-service (SERVICE_TOKEN or minted)."""
    return ServiceToken(
        subject=settings.service_name,
        service_token=settings.service_token,
        jwt_secret=settings.jwt_secret,
    )


def make_consumer(ctx: Context, feed: FeedClient | None) -> IdempotentConsumer:
    settings = ctx.settings
    projection = Projection(ctx.book, ctx.profile, ctx.emit)
    return IdempotentConsumer(
        ConsumerConfig(
            name=settings.consumer_group,
            topics=[settings.case_events_topic],
            bootstrap_servers=settings.kafka_bootstrap_servers,
            max_batch=settings.consumer_max_batch,
        ),
        ctx.engine,
        projection.handle,
        gaps=feed,
    )


@contextlib.asynccontextmanager
async def running(
    jobs: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]],
) -> AsyncIterator[asyncio.Event]:
    """Run each `job(stop)` as a task until the block ends; then stop them and wait."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(job(stop)) for job in jobs]
    try:
        yield stop
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:
                log.exception("worker did not stop cleanly")
