"""case-service's migration history (Alembic; arrears.migrations has the mechanics)."""

from arrears.migrations import Migrations

MIGRATIONS = Migrations("case-service", "case_service.migrations")

__all__ = ["MIGRATIONS"]
