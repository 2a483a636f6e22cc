"""What the API, the workers and the daily run share: settings, engine, clock, policy, and
the outbox (the task emitter and the command forwarder)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.business_date import business_date
from arrears.clock import Clock
from arrears.outbox import CommandForwarder, emit_task
from arrears.service import make_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from legal_service.policy.thresholds import LegalPolicy
from legal_service.settings import LegalServiceSettings
from legal_service.tasks import LegalTask

SOURCE = "/arrears/legal-service"
TASK_TYPE_PREFIX = "collections.legal."


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

    def today(self) -> date:
        """The bank's business date now: days past due, buckets and deadlines count on it."""
        return business_date(self.clock.now(), self.settings.business_timezone)

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
