"""Kafka messaging for Arrears: the CloudEvents envelope, the producer, the idempotent
consumer (with DLQ and gap filling) and read-model rebuilds from case-service's feed."""

from arrears.messaging.consumer import ConsumerConfig, IdempotentConsumer
from arrears.messaging.envelope import (
    CASE_EVENTS_TOPIC,
    CONTACT_TASKS_TOPIC,
    LEGAL_TASKS_TOPIC,
    Envelope,
    EnvelopeError,
    case_event,
    event_id,
    parse,
)
from arrears.messaging.gaps import FeedClient, FeedPage
from arrears.messaging.processing import (
    Applier,
    BatchHandler,
    GapFiller,
    Handler,
    PoisonError,
    event_time,
)
from arrears.messaging.producer import EnvelopeProducer, ProducerConfig
from arrears.messaging.rebuild import RebuildReport, rebuild

__all__ = [
    "CASE_EVENTS_TOPIC",
    "CONTACT_TASKS_TOPIC",
    "LEGAL_TASKS_TOPIC",
    "Applier",
    "BatchHandler",
    "ConsumerConfig",
    "Envelope",
    "EnvelopeError",
    "EnvelopeProducer",
    "FeedClient",
    "FeedPage",
    "GapFiller",
    "Handler",
    "IdempotentConsumer",
    "PoisonError",
    "ProducerConfig",
    "RebuildReport",
    "case_event",
    "event_id",
    "event_time",
    "parse",
    "rebuild",
]
