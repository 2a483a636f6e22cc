"""Local servers for development and tests: PostgreSQL and a Kafka-protocol broker, from wheels."""

from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres

__all__ = ["EmbeddedBroker", "EmbeddedPostgres", "free_port"]
