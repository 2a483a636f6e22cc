"""legal-service's migration history (Alembic; arrears.migrations has the mechanics)."""

from arrears.migrations import Migrations

MIGRATIONS = Migrations("legal-service", "legal_service.migrations")

__all__ = ["MIGRATIONS"]
