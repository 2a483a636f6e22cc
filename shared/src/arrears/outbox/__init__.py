"""The outbox: what a service decides in its own transaction leaves it exactly once.

Tables (create at start-up: `await create_outbox_tables(engine)`, idempotent):
`command_outbox` and `task_outbox` in the service's own database.

Commands to case-service (`arrears.outbox.commands`):
    command_id = await enqueue_command(conn, case_id=..., command="contact-attempts",
                                       body={...}, idempotency_key=..., correlation_id=...)
        In the caller's transaction. The same (case, command, key) with the same body returns
        the first id; another body raises `OutboxConflict` (answer 422 naming
        Idempotency-Key).
    forwarder = CommandForwarder(engine, case_service_url, token=lambda: "<bearer>",
                                 batch_size=50, backoff=Backoff(0.5, 30.0))
    delivery = await forwarder.deliver_now(command_id)   # after the caller's commit
        -> Delivery(command_id, outcome="accepted"|"rejected"|"pending", status, body,
                    last_error). "pending": case-service unreachable or busy (answer 202);
        otherwise relay case-service's status and body to the caller.
    forwarder.wake(); await forwarder.run(stop_event); await forwarder.aclose()
    await command_delivery(conn, command_id) -> Delivery (where it stands, for GETs)

Tasks to Kafka (`arrears.outbox.tasks`):
    stored = await emit_task(conn, topic=..., event_type="collections.contact.ScheduleCall",
                             task_id=<stable id>, subject=<case id>, data={...},
                             source="/arrears/contact-service", at=clock.now(),
                             correlation_id=None)
        In the caller's transaction; False when that task id was stored before.
    publisher = TaskPublisher(engine, EnvelopeProducer(ProducerConfig(...)))
    publisher.wake(); await publisher.run(stop_event)   # starts and stops the producer
    await publisher.publish_pending() -> int             # one batch (tests, CLIs)
"""

from arrears.outbox.backoff import Backoff
from arrears.outbox.commands import (
    ACCEPTED,
    PENDING,
    REJECTED,
    CommandForwarder,
    Delivery,
    OutboxConflict,
    command_delivery,
    enqueue_command,
    queued_command,
    retryable,
)
from arrears.outbox.schema import create_outbox_tables
from arrears.outbox.tasks import TaskPublisher, emit_task, task_envelope

__all__ = [
    "ACCEPTED",
    "PENDING",
    "REJECTED",
    "Backoff",
    "CommandForwarder",
    "Delivery",
    "OutboxConflict",
    "TaskPublisher",
    "command_delivery",
    "create_outbox_tables",
    "emit_task",
    "enqueue_command",
    "queued_command",
    "retryable",
    "task_envelope",
]
