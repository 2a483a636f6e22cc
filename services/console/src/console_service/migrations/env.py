"""Alembic's entry point for the console: its users, sessions and sign-in states (db.py)."""

from arrears.migrations import run_env

from console_service.db import metadata

run_env(metadata)
