"""The console's migration history (Alembic; arrears.migrations has the mechanics)."""

from arrears.migrations import Migrations

MIGRATIONS = Migrations("console", "console_service.migrations")

__all__ = ["MIGRATIONS"]
