"""legal-service's read models: tables, the repository (every query), and views."""

from legal_service.readmodel.tables import create_tables

__all__ = ["create_tables"]
