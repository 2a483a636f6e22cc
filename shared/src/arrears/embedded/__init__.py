"""Local servers for development and tests: PostgreSQL and a Kafka-protocol broker, from wheels."""

from arrears.embedded.broker import EmbeddedBroker
from arrears.embedded.ports import free_port
from arrears.embedded.postgres import EmbeddedPostgres

__all__ = ["EmbeddedBroker", "EmbeddedPostgres", "free_port"]
