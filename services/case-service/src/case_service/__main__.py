"""`python -m case_service`: serve the case-service HTTP API."""

from __future__ import annotations

import uvicorn

from arrears.logging import configure_logging
from case_service.api.app import create_app
from case_service.settings import CaseServiceSettings


def main() -> None:
    settings = CaseServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
