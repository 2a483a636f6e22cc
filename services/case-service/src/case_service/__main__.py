"""`python -m case_service`: serve the case-service HTTP API."""

from __future__ import annotations

import uvicorn
from arrears.logging import configure_logging
from arrears.metrics import share_metrics_between_workers
from fastapi import FastAPI

from case_service.api.app import create_app
from case_service.settings import CaseServiceSettings


def serve_app() -> FastAPI:
    """The app as each server process builds it, logging configured first."""
    settings = CaseServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    return create_app(settings)


def main() -> None:
    settings = CaseServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    # Several worker processes use both cores; each has its own batching writer, and the
    # event store's optimistic version check keeps them consistent.
    share_metrics_between_workers(settings.http_workers)
    uvicorn.run(
        "case_service.__main__:serve_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
