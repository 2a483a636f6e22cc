"""Legal tasks on `collections.legal-tasks.v1`, each with a stable id, emitted once.

A task id is uuid5 of (case id, task type, key): the key names what makes the task distinct
within the case - the limitation alert band and the expiry date it warns of, the guarantor
- so deciding it again (a second daily run, a restart mid-run, a replay) yields the same id.
`lg_tasks` records each id in the transaction that hands the task to the task outbox
(`arrears.outbox.emit_task`), so it is handed over once; the outbox publishes each id once.
Tasks carry no personal data: case id, amounts, dates and reasons only.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.policy.model import Recommendation
from legal_service.readmodel.tables import TASKS

TASK_NAMESPACE = uuid.UUID("5a3e1f0c-7d42-5b8e-9c61-2f4b8a0d3e17")


def task_id(case_id: str, task_type: str, key: str = "") -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, f"{case_id}/{task_type}/{key}"))


@dataclass(frozen=True)
class LegalTask:
    task_id: str
    task_type: str
    case_id: str
    key: str
    reason: str
    decided_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The task's `data` on the topic."""
        return {
            "task_id": self.task_id,
            "task_type": self.task_type,
            "case_id": self.case_id,
            "reason": self.reason,
            "decided_at": self.decided_at.isoformat(),
            **self.data,
        }


def task_for(case_id: str, rec: Recommendation, now: datetime) -> LegalTask:
    return LegalTask(
        task_id=task_id(case_id, rec.kind, rec.key),
        task_type=rec.kind,
        case_id=case_id,
        key=rec.key,
        reason=rec.reason,
        decided_at=now,
        data=dict(rec.data),
    )


# Hands one task to the task outbox in the caller's transaction.
Emitter = Callable[[AsyncConnection, LegalTask], Awaitable[None]]


async def emit_once(conn: AsyncConnection, task: LegalTask, emitter: Emitter | None) -> bool:
    """Record the task id; hand the task over only if it is new. True when emitted now."""
    result = await conn.execute(
        insert(TASKS)
        .values(
            task_id=task.task_id,
            case_id=task.case_id,
            task_type=task.task_type,
            task_key=task.key,
            reason=task.reason,
            emitted_at=task.decided_at,
        )
        .on_conflict_do_nothing(index_elements=["task_id"])
        .returning(TASKS.c.task_id)
    )
    if result.first() is None:
        return False
    if emitter is not None:
        await emitter(conn, task)
    return True
