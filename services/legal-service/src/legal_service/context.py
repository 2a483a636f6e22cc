"""What the API, the workers and the daily run share: settings, engine, clock, policy, and
the outbox (the task emitter and the command forwarder)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from arrears.auth import issue_token
from arrears.clock import Clock
from arrears.outbox import CommandForwarder, emit_task
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from legal_service.policy.thresholds import LegalPolicy
from legal_service.settings import LegalServiceSettings, async_url
from legal_service.tasks import LegalTask

SOURCE = "/arrears/legal-service"
TASK_TYPE_PREFIX = "collections.legal."


def make_engine(settings: LegalServiceSettings) -> AsyncEngine:
    return create_async_engine(
        async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


class ServiceToken:
    """A bearer token for case-service: SERVICE_TOKEN, or one minted from JWT_SECRET."""

    def __init__(self, settings: LegalServiceSettings, ttl: timedelta = timedelta(hours=1)):
        self.settings = settings
        self.ttl = ttl
        self._token: str | None = None
        self._expires = 0.0

    def __call__(self) -> str:
        if self.settings.service_token:
            return self.settings.service_token
        if not self.settings.jwt_secret:
            raise RuntimeError("calling case-service needs SERVICE_TOKEN or JWT_SECRET")
        if self._token is None or time.monotonic() > self._expires:
            self._token = issue_token(
                self.settings.jwt_secret, "service", self.settings.service_name, self.ttl
            )
            self._expires = time.monotonic() + self.ttl.total_seconds() / 2
        return self._token


class TaskOutbox:
    """The Emitter for legal tasks: the shared task outbox, in the caller's transaction."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    async def __call__(self, conn: AsyncConnection, task: LegalTask) -> None:
        await emit_task(
            conn,
            topic=self.topic,
            event_type=TASK_TYPE_PREFIX + task.task_type,
            task_id=task.task_id,
            subject=task.case_id,
            data=task.payload(),
            source=SOURCE,
            at=task.decided_at,
        )


@dataclass
class Context:
    settings: LegalServiceSettings
    engine: AsyncEngine
    clock: Clock
    policy: LegalPolicy
    emit: TaskOutbox
    forwarder: CommandForwarder | None = None

    @classmethod
    def build(
        cls,
        settings: LegalServiceSettings,
        clock: Clock,
        *,
        engine: AsyncEngine | None = None,
        policy: LegalPolicy | None = None,
    ) -> Context:
        return cls(
            settings=settings,
            engine=engine or make_engine(settings),
            clock=clock,
            policy=policy or settings.policy(),
            emit=TaskOutbox(settings.legal_tasks_topic),
        )
