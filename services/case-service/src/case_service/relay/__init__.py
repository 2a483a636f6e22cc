"""The relay: the event store's notification log published to Kafka (DESIGN §3)."""

from case_service.relay.envelopes import CaseEventEncoder
from case_service.relay.runner import Relay, RelaySettings
from case_service.relay.store import RelayStore

__all__ = ["CaseEventEncoder", "Relay", "RelaySettings", "RelayStore"]
