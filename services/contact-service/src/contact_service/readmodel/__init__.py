"""contact-service's read models: tables, derived values and the repository of queries."""

from contact_service.readmodel.tables import Base, create_tables, drop_tables

__all__ = ["Base", "create_tables", "drop_tables"]
