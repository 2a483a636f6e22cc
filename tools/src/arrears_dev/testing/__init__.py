"""Test support: fixtures that start real PostgreSQL and broker servers (see pytest_plugin)."""

from arrears_dev.testing.names import unique_name, unique_topic

__all__ = ["unique_name", "unique_topic"]
