"""The background work `python -m legal_service` runs beside the API: the case-event
consumer (the projection), the task publisher and the command forwarder."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from arrears.messaging import IdempotentConsumer
from arrears.outbox import CommandForwarder, TaskPublisher
from arrears.service import consuming, make_producer, running, service_token

from legal_service.context import Context
from legal_service.projections.handlers import Projection


@contextlib.asynccontextmanager
async def start_outbox(ctx: Context, *, run: bool) -> AsyncIterator[None]:
    """Create the forwarder (the API delivers at once through it); with `run`, also run the
    forwarder's loop and the task publisher. (The outbox tables are the migrations'.)"""
    forwarder = CommandForwarder(
        ctx.engine, ctx.settings.case_service_url, service_token(ctx.settings)
    )
    ctx.forwarder = forwarder
    try:
        if run:
            publisher = TaskPublisher(ctx.engine, make_producer(ctx.settings, "legal-tasks"))
            async with running([forwarder.run, publisher.run]):
                yield
        else:
            yield
    finally:
        ctx.forwarder = None
        await forwarder.aclose()


def start_consumer(ctx: Context) -> contextlib.AbstractAsyncContextManager[IdempotentConsumer]:
    projection = Projection(ctx.policy, ctx.emit)
    return consuming(ctx.settings, ctx.engine, projection.handle, projection.handle_batch)
