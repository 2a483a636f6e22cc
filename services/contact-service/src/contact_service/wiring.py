"""Wiring the shared outbox (`arrears.outbox`) and the consumer into a running service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from arrears.logging import get_correlation_id
from arrears.outbox import CommandForwarder, TaskPublisher, emit_task
from arrears.service import consuming, make_producer, running, service_token
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.context import Context
from contact_service.forwarding import FINISH_DELAY_SECONDS, CommandSender
from contact_service.keys import LeanSubjectKeyClient
from contact_service.projections import Projection
from contact_service.tasks import ContactTask, Emitter

SOURCE = "/arrears/contact-service"
TASK_TYPE_PREFIX = "collections.contact."
SEALED_TASK_FIELDS = ("contact_point", "to", "address")
PUBLISHER_IDLE_POLL_SECONDS = 2.0


def task_emitter(ctx: Context) -> Emitter:
    """Tasks go to the task outbox in the caller's transaction, under their stable id."""

    async def emit(conn: AsyncConnection, task: ContactTask) -> None:
        await emit_task(
            conn,
            topic=ctx.settings.contact_tasks_topic,
            event_type=TASK_TYPE_PREFIX + task.task_type,
            task_id=task.task_id,
            subject=task.case_id,
            # Numbers and addresses wait sealed in the outbox; opened as they are published.
            data=sealing.seal_fields(task.payload(), SEALED_TASK_FIELDS),
            source=SOURCE,
            at=ctx.clock.now(),
            correlation_id=get_correlation_id(),
        )
        if ctx.publisher is not None:
            ctx.publisher.wake()

    return emit


@contextlib.asynccontextmanager
async def start_outbox(ctx: Context, *, publish: bool) -> AsyncIterator[None]:
    """Set ctx.emit and ctx.forwarder; with `publish`, run the task publisher and the command
    forwarder in the background until the block ends."""
    settings = ctx.settings
    ctx.emit = task_emitter(ctx)
    forwarder = CommandForwarder(
        ctx.engine,
        settings.case_service_url,
        service_token(settings),
        open_body=sealing.unseal_tree,
    )
    ctx.forwarder = forwarder
    sender = CommandSender(
        settings.case_service_url,
        service_token(settings),
        wake=forwarder.wake,
        answer_delay=FINISH_DELAY_SECONDS if settings.http_workers <= 1 else 0.0,
    )
    ctx.sender = sender
    keys = ctx.keys or LeanSubjectKeyClient(settings.case_service_url, service_token(settings))
    ctx.keys = keys
    try:
        if not publish:
            yield
            return
        producer = make_producer(settings, client_id="contact-service-tasks")
        # Woken by every task this process emits; the poll only catches tasks stored by
        # another process (a daily run, the other server process when this one held the
        # lock), so it need not turn every half second in each server process.
        ctx.publisher = TaskPublisher(
            ctx.engine,
            producer,
            open_envelope=sealing.unseal_tree,
            idle_poll_seconds=PUBLISHER_IDLE_POLL_SECONDS,
        )
        async with running([ctx.publisher.run, forwarder.run]):
            yield
    finally:
        ctx.publisher = None
        ctx.forwarder = None
        ctx.sender = None
        ctx.keys = None
        await forwarder.aclose()
        await sender.aclose()
        await keys.aclose()


def start_workers(ctx: Context) -> contextlib.AbstractAsyncContextManager[object]:
    """The case-event consumer (the projection), filling holes from case-service's feed."""
    projection = Projection(
        ctx.book, ctx.profile, ctx.emit, ctx.settings.business_timezone, keys=ctx.keys
    )
    return consuming(ctx.settings, ctx.engine, projection.handle, projection.handle_batch)
