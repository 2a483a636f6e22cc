"""contact-service's migration history (Alembic; arrears.migrations has the mechanics)."""

from arrears.migrations import Migrations

MIGRATIONS = Migrations("contact-service", "contact_service.migrations")

__all__ = ["MIGRATIONS"]
