"""Alembic's entry point for case-service: its own tables (schema.py), not the library's."""

from arrears.migrations import run_env

from case_service.schema import METADATA

run_env(METADATA)
