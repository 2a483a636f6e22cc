"""contact-service settings, from the environment."""

from __future__ import annotations

from arrears.db import async_url
from arrears.messaging import CONTACT_TASKS_TOPIC
from arrears.service import ConsumerServiceSettings
from pydantic import Field


class ContactServiceSettings(ConsumerServiceSettings):
    service_name: str = "contact-service"
    http_port: int = 8002
    http_workers: int = 1  # server processes (each runs the workers too; see __main__)
    database_url: str = "postgresql://postgres@127.0.0.1:5433/arrears_contact"
    # The jurisdiction profile in force: CN or US-RegF (contact_service.policy.profiles).
    jurisdiction: str = "CN"
    consumer_group: str = "contact-service"
    contact_tasks_topic: str = CONTACT_TASKS_TOPIC
    # A folder of strategy YAML files with its assignments.yaml; default: the shipped ones.
    strategy_dir: str | None = None
    claim_lease_seconds: int = 900
    # The case-event consumer (wiring.start_workers). How long the broker may hold a fetch
    # that found nothing: an idle consumer sends one fetch per wait, each costing Python
    # work here; Apache Kafka answers as soon as a record arrives, whatever the wait, but
    # tansu (the embedded broker) answers late in proportion to it (docs/messaging.md). 250
    # ms: the whole-system bench's A/B (docs/benchmarks.md, 2026-12-05, issue 14 target 7)
    # at 100/250/500 ms gave the consumer bigger batches and fewer empty fetches (contact-
    # service 10.5/9.3/8.9 s of CPU, the broker 4.2/2.8/2.4 s), projection lag of tens of
    # ms more, no more guard fallbacks. And how long one poll waits for records before the
    # loop turns (waiting costs nothing; a turn a little).
    consumer_fetch_max_wait_ms: int = Field(default=250, ge=1, le=5_000)
    consumer_poll_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    # Records arriving are gathered for 50 ms and applied together: case events trickle in
    # one or two at a time, each batch costing a transaction and its statements whatever its
    # size; 50 ms more projection lag changes nothing for collectors (ConsumerConfig).
    consumer_linger_ms: int = Field(default=50, ge=0, le=5_000)
    queue_page_size: int = 50
    daily_run_batch: int = 500
    # The key sealing numbers and addresses and keying their blind index (base64; default
    # derived from CIPHER_KEY; the embedded default's fixed key without either): sealing.py.
    contact_data_key: str = Field(default="", repr=False)


__all__ = ["ContactServiceSettings", "async_url"]  # async_url: re-exported from arrears.db
