"""`python -m case_service.relay`: run the relay as its own process until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from arrears.logging import configure_logging
from arrears.migrations import SchemaBehind
from prometheus_client import start_http_server

from case_service.application import CaseApplication
from case_service.relay.envelopes import CaseEventEncoder
from case_service.relay.runner import Relay, RelaySettings


async def _main(settings: RelaySettings) -> None:
    application = CaseApplication(settings)
    try:
        relay = Relay(settings, application.recorder_, CaseEventEncoder(application.mapper))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await relay.run(stop)
    finally:
        application.close()


def main() -> None:
    settings = RelaySettings()
    configure_logging(f"{settings.service_name}-relay", settings.log_level, settings.log_json)
    if settings.relay_metrics_port:
        start_http_server(settings.relay_metrics_port, addr=settings.http_host)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_main(settings))
    except SchemaBehind as exc:  # one line, not a traceback: run the migrations first
        raise SystemExit(str(exc)) from None


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed, as uvicorn's `loop="auto"` gives the services (it comes
    with `uvicorn[standard]` on the platforms that have it): a caught-up relay's cost is
    mostly its event loop's turns (a wake-up, a read, a produce and its ack, a save)."""
    try:
        import uvloop
    except ImportError:
        return None  # asyncio's own loop
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
