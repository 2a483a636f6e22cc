"""case-service's HTTP server for one side of bench/audit_bench.py's HTTP shapes.

    python bench/audit_server.py on|off     (environment as for `python -m case_service`)

"on": `python -m case_service` as it ships, the hash chain and per-subject sealing both on.
"off": the same server with audit_bench's two switches (its `app_for`) applied before the
application is built: the recorder without the chain step (`chained = False`, the same INSERT
without the chain), and no subject keys (personal data then only under the whole-record
cipher). Everything else - uvicorn, the middleware, the routes, the batching command writer,
the switch interval - is the service's own start (`case_service.__main__.main`).
"""

from __future__ import annotations

import sys
from typing import Any

import case_service.__main__ as service
import case_service.api.app as api_app
import case_service.application as application_module
from case_service.application import CaseApplication
from case_service.persistence import CaseEventRecorder
from case_service.settings import CaseServiceSettings, eventsourcing_env


class UnchainedRecorder(CaseEventRecorder):
    """The recorder without the chain step (the library's own INSERT): the "off" side."""

    chained = False


def unchained_env(settings: CaseServiceSettings) -> dict[str, str]:
    found = eventsourcing_env(settings)
    found["APPLICATION_RECORDER_TOPIC"] = "__main__:UnchainedRecorder"
    return found


def unsealed_application(settings: CaseServiceSettings, **kwargs: Any) -> CaseApplication:
    """The application as the API's lifespan builds it, its subject keys then set to None."""
    app = CaseApplication(settings, **kwargs)
    app.personal_mapper.keys = None
    app.recorder_.subject_keys = None
    app.subject_keys = None
    return app


def main(argv: list[str]) -> int:
    if argv not in (["on"], ["off"]):
        print("usage: python bench/audit_server.py on|off", file=sys.stderr)
        return 2
    if argv == ["off"]:
        application_module.eventsourcing_env = unchained_env  # type: ignore[attr-defined]
        api_app.CaseApplication = unsealed_application  # type: ignore[attr-defined,assignment]
    return service.main(["serve"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
