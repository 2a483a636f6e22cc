"""The skeleton every read-side service (contact-service, legal-service) is built on: its
settings, engine, service token, background jobs, case-event consumer, app and command line.

A service supplies only what is its own: tables, projection, outbox wiring, routers, and the
commands of its command line.
"""

from arrears.service.app import create_service_app, service_lifespan
from arrears.service.cli import app_factory, run_cli, serve
from arrears.service.workers import (
    ConsumerServiceSettings,
    consuming,
    make_engine,
    make_producer,
    running,
    service_token,
)

__all__ = [
    "ConsumerServiceSettings",
    "app_factory",
    "consuming",
    "create_service_app",
    "make_engine",
    "make_producer",
    "run_cli",
    "running",
    "serve",
    "service_lifespan",
    "service_token",
]
