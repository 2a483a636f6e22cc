"""Alembic's entry point for contact-service: every table it owns, described by METADATA."""

from arrears.migrations import run_env

from contact_service.readmodel.tables import METADATA

run_env(METADATA)
