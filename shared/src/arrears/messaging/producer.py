"""Publishing envelopes to Kafka with aiokafka: acks from all in-sync replicas, waited for.

aiokafka keeps one request in flight per broker, so records to one partition (one case, by
key) are written in the order they were sent. `enable_idempotence` is a setting: Apache
Kafka in production turns it on; the embedded `tansu` broker refuses InitProducerId.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from arrears.messaging.envelope import Envelope, kafka_headers


@dataclass(frozen=True)
class ProducerConfig:
    bootstrap_servers: str
    client_id: str = "arrears"
    acks: str = "all"
    enable_idempotence: bool = False
    linger_ms: int = 2
    max_batch_size: int = 512 * 1024
    request_timeout_ms: int = 10_000
    retry_backoff_ms: int = 200

    def kwargs(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "acks": "all" if self.acks == "all" else int(self.acks),
            "enable_idempotence": self.enable_idempotence,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.max_batch_size,
            "request_timeout_ms": self.request_timeout_ms,
            "retry_backoff_ms": self.retry_backoff_ms,
        }


class EnvelopeProducer:
    """Sends envelopes keyed by subject and returns once the broker acknowledged all of them."""

    def __init__(self, config: ProducerConfig) -> None:
        self.config = config
        self._producer: AIOKafkaProducer | None = None

    @property
    def started(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(**self.config.kwargs())
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def publish(
        self,
        topic: str,
        envelopes: Sequence[Envelope],
        *,
        extra_headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Send every envelope (key = subject) and wait for every acknowledgement.

        Raises whatever the first failed send raised; the caller decides to retry the lot.
        """
        await self.publish_raw(
            topic,
            [
                (
                    (e.subject or e.id).encode(),
                    e.to_json(),
                    [*kafka_headers(e), *extra_headers],
                )
                for e in envelopes
            ],
        )

    async def publish_raw(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        if self._producer is None:
            raise RuntimeError("producer not started")
        futures = [
            await self._producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        if not futures:
            return
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
