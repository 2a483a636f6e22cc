"""Alembic's entry point for legal-service: every table it owns, described by METADATA."""

from arrears.migrations import run_env

from legal_service.readmodel.tables import METADATA

run_env(METADATA)
