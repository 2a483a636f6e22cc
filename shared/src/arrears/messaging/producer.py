"""Publishing envelopes to Kafka with aiokafka: acks from all in-sync replicas, waited for.

aiokafka keeps one request in flight per broker, so records to one partition (one case, by
key) are written in the order they were sent. `publish_records` (the relay's path) builds
the record batches itself, one per partition at a time, with the client's own partitioner
(murmur2 of the key over all partitions, as Java's and librdkafka's consistent-random),
and sends each batch with one future: a fraction of the per-record cost of `send`. `enable_idempotence` is a setting: Apache
Kafka in production turns it on; the embedded `tansu` broker refuses InitProducerId.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from arrears.messaging.envelope import Envelope, kafka_headers


@functools.lru_cache(maxsize=65_536)  # a case's events share its key; murmur2 is pure Python
def key_hash(key: bytes) -> int:
    """The default partitioner's hash of a key (Java's and librdkafka's murmur2_random):
    the record goes to sorted partitions[key_hash(key) % len(partitions)]."""
    hashed: int = murmur2(key) & 0x7FFFFFFF
    return hashed


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
        await _acknowledged(futures)

    async def publish_records(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]],
        key_hashes: Sequence[int] | None = None,
    ) -> None:
        """Send keyed records as whole batches (one future per batch) and wait for every
        acknowledgement. Records of one partition keep their order: its batches are queued
        in order and the client sends one request per broker at a time. `key_hashes`, when
        given, are `key_hash(key)` of each record, computed elsewhere (the relay's workers):
        the pure-Python murmur2 was half of this method's cost."""
        if self._producer is None:
            raise RuntimeError("producer not started")
        producer = self._producer
        partitions = sorted(await producer.partitions_for(topic))
        count = len(partitions)
        hashes = key_hashes if key_hashes is not None else [key_hash(r[0]) for r in records]
        open_batches: dict[int, Any] = {}
        futures = []
        for (key, value, headers), hashed in zip(records, hashes, strict=True):
            partition = partitions[hashed % count]
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                batch.close()
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[partition] = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"a record of {len(value)} bytes exceeds max_batch_size")
        for partition, batch in open_batches.items():
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await _acknowledged(futures)


async def _acknowledged(futures: Sequence[Awaitable[Any]]) -> None:
    """Wait for every send's acknowledgement; the first failure is raised once all settled
    (none is left running unobserved)."""
    if not futures:
        return
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
