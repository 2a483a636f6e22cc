"""The background work `python -m legal_service` runs beside the API: the case-event
consumer (the projection), the task publisher and the command forwarder."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from arrears.messaging import (
    ConsumerConfig,
    EnvelopeProducer,
    FeedClient,
    IdempotentConsumer,
    ProducerConfig,
)
from arrears.outbox import CommandForwarder, TaskPublisher, create_outbox_tables

from legal_service.context import Context, service_token
from legal_service.projections.handlers import Projection

log = logging.getLogger("legal_service.workers")


def make_consumer(ctx: Context, feed: FeedClient | None) -> IdempotentConsumer:
    settings = ctx.settings
    return IdempotentConsumer(
        ConsumerConfig(
            name=settings.consumer_group,
            topics=[settings.case_events_topic],
            bootstrap_servers=settings.kafka_bootstrap_servers,
            max_batch=settings.consumer_max_batch,
        ),
        ctx.engine,
        Projection(ctx.policy, ctx.emit).handle,
        gaps=feed,
    )


def make_publisher(ctx: Context) -> TaskPublisher:
    producer = EnvelopeProducer(
        ProducerConfig(
            bootstrap_servers=ctx.settings.kafka_bootstrap_servers, client_id="legal-tasks"
        )
    )
    return TaskPublisher(ctx.engine, producer)


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


@contextlib.asynccontextmanager
async def start_outbox(ctx: Context, *, run: bool) -> AsyncIterator[None]:
    """Create the outbox tables and the forwarder (the API delivers at once through it);
    with `run`, also run the forwarder's loop and the task publisher."""
    await create_outbox_tables(ctx.engine)
    forwarder = CommandForwarder(
        ctx.engine, ctx.settings.case_service_url, service_token(ctx.settings)
    )
    ctx.forwarder = forwarder
    try:
        if run:
            async with running([forwarder.run, make_publisher(ctx).run]):
                yield
        else:
            yield
    finally:
        ctx.forwarder = None
        await forwarder.aclose()


@contextlib.asynccontextmanager
async def start_consumer(ctx: Context) -> AsyncIterator[IdempotentConsumer]:
    feed = FeedClient(ctx.settings.case_service_url, service_token(ctx.settings))
    consumer = make_consumer(ctx, feed)
    try:
        async with running([consumer.run]):
            yield consumer
    finally:
        await feed.aclose()
