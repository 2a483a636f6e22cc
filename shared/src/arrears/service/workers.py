"""Settings, engine, token and the background jobs a read-side service runs beside its API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from arrears.auth import ServiceToken
from arrears.db import async_url
from arrears.messaging import (
    CASE_EVENTS_TOPIC,
    BatchHandler,
    ConsumerConfig,
    EnvelopeProducer,
    FeedClient,
    Handler,
    IdempotentConsumer,
    ProducerConfig,
)
from arrears.settings import ServiceSettings

log = logging.getLogger("arrears.service")
Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class ConsumerServiceSettings(ServiceSettings):
    """What a service that consumes case events and talks back to case-service needs."""

    case_service_url: str = "http://127.0.0.1:8001"
    # A bearer token for case-service; without it one is minted from JWT_SECRET (role service).
    service_token: str | None = Field(default=None, repr=False)
    consumer_group: str = "arrears"
    case_events_topic: str = CASE_EVENTS_TOPIC
    db_pool_size: int = 10
    consumer_max_batch: int = 500
    # How long the broker may hold an empty fetch, and one poll may wait for records
    # (arrears.messaging.ConsumerConfig); a service may choose its own defaults.
    consumer_fetch_max_wait_ms: int = Field(default=50, ge=1, le=5_000)
    consumer_poll_timeout_ms: int = Field(default=100, ge=1, le=60_000)
    # How long the consumer gathers records before applying them (ConsumerConfig.linger_ms).
    consumer_linger_ms: int = Field(default=0, ge=0, le=5_000)
    # Run the consumer, the task publisher and the command forwarder in the API process.
    run_workers: bool = True


def make_engine(settings: ConsumerServiceSettings) -> AsyncEngine:
    return create_async_engine(
        async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


def service_token(settings: ConsumerServiceSettings) -> ServiceToken:
    """The bearer token this service sends to case-service (SERVICE_TOKEN or minted)."""
    return ServiceToken(
        subject=settings.service_name,
        service_token=settings.service_token,
        jwt_secret=settings.jwt_secret,
    )


def make_producer(settings: ConsumerServiceSettings, client_id: str) -> EnvelopeProducer:
    return EnvelopeProducer(ProducerConfig(settings.kafka_bootstrap_servers, client_id=client_id))


@contextlib.asynccontextmanager
async def running(jobs: list[Job]) -> AsyncIterator[asyncio.Event]:
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
async def consuming(
    settings: ConsumerServiceSettings,
    engine: AsyncEngine,
    handler: Handler,
    batch_handler: BatchHandler | None = None,
) -> AsyncIterator[IdempotentConsumer]:
    """The case-event consumer running `handler` (and `batch_handler` on the fast path, when
    given), filling holes from case-service's feed.

    It gets its own engine on `engine`'s database, without the pool's pre-ping: a batch on a
    connection that died is rolled back and retried from its first offset anyway, and the
    ping cost a round trip per batch, most batches being one or two events."""
    feed = FeedClient(settings.case_service_url, service_token(settings))
    own = create_async_engine(
        engine.url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
    )
    consumer = IdempotentConsumer(
        ConsumerConfig(
            name=settings.consumer_group,
            topics=[settings.case_events_topic],
            bootstrap_servers=settings.kafka_bootstrap_servers,
            max_batch=settings.consumer_max_batch,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            poll_timeout_ms=settings.consumer_poll_timeout_ms,
            linger_ms=settings.consumer_linger_ms,
        ),
        own,
        handler,
        gaps=feed,
        batch_handler=batch_handler,
    )
    try:
        async with running([consumer.run]):
            yield consumer
    finally:
        await feed.aclose()
        await own.dispose()
