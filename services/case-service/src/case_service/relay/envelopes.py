"""From a row of the notification log to the CloudEvent the relay publishes and the feed serves.

The library's mapper decrypts and decodes the stored event and upcasts it to its class's
current `class_version`, so consumers always receive the current shape. Personal leaves stay
sealed with their subject's key (case_service.pii.fields): the topic and the feed carry a
pseudonymous reference and the ciphertext, never the clear value (docs/messaging.md).

`records(rows)` is the relay's hot path: the same bytes through `wire.WireEncoder`, which
skips the domain objects and falls back to `envelope()` for any event it can't do alone
(upcasting, an unknown transcoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from arrears.messaging.envelope import Envelope, case_event, kafka_headers
from arrears.messaging.producer import key_hash
from eventsourcing.persistence import Mapper, Notification

from case_service.domain import EVENT_CLASSES, event_payload
from case_service.pii.mapper import PersonalDataMapper
from case_service.relay.wire import Record, Row, WireEncoder


class CaseEventEncoder:
    """Encodes notifications of the `Cases` event store as case-event envelopes."""

    def __init__(self, mapper: Mapper[UUID], source: str = "/arrears/case-service") -> None:
        self.source_mapper = mapper
        if isinstance(mapper, PersonalDataMapper):
            mapper = mapper.sealed_view()
        self.mapper = mapper
        self.source = source
        self._names: dict[type[Any], str] = {cls: name for name, cls in EVENT_CLASSES.items()}
        self.wire = WireEncoder(mapper, self.name_of, self.general_record, source)

    def name_of(self, event_class: type[Any]) -> str:
        return self._names.get(event_class) or event_class.__name__

    def envelope(self, notification: Notification, correlation: str | None = None) -> Envelope:
        event: Any = self.mapper.to_domain_event(notification)
        cls = type(event)
        return case_event(
            case_id=notification.originator_id,
            version=notification.originator_version,
            sequence=notification.id,
            event_name=self.name_of(cls),
            occurred_at=event.timestamp,
            data=event_payload(event),
            class_version=int(getattr(cls, "class_version", 1)),
            correlation_id=str(correlation) if correlation else None,
            personal_data=tuple(getattr(cls, "personal_data", ())),
            source=self.source,
        )

    def envelopes(
        self,
        notifications: Iterable[Notification],
        correlations: Mapping[tuple[UUID | str, int], str] | None = None,
    ) -> list[Envelope]:
        """Envelopes for these notifications; `correlations` maps (case id, version) to the
        correlation id of the request that recorded the event (RelayStore.correlations)."""
        found = correlations or {}
        return [
            self.envelope(n, found.get((n.originator_id, n.originator_version)))
            for n in notifications
        ]

    def general_record(self, row: Row) -> Record:
        notification_id, case_id, version, topic, state, correlation = row
        notification = Notification(
            id=notification_id,
            originator_id=UUID(case_id),
            originator_version=version,
            topic=topic,
            state=state,
        )
        envelope = self.envelope(notification, correlation)
        key = case_id.encode()
        return notification_id, key, envelope.to_json(), kafka_headers(envelope), key_hash(key)

    def records(self, rows: Sequence[Row]) -> list[Record]:
        """(notification id, key, value, headers) per row, ready for the producer."""
        return self.wire.records(rows)

    def values(self, rows: Sequence[Row]) -> list[bytes]:
        """The records' values alone, in the same order (the feed's page)."""
        return self.wire.values(rows)
