"""`python -m case_service.checkpointer`: sign checkpoints until SIGTERM/SIGINT.
`python -m case_service.checkpointer keygen`: print a new key pair for the deploy files."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from arrears.logging import configure_logging
from arrears.migrations import SchemaBehind
from prometheus_client import start_http_server

from case_service.application import CaseApplication
from case_service.audit.note import NoteError, SignerKey, new_seed_base64
from case_service.audit.store import AuditStore
from case_service.checkpointer.runner import (
    Checkpointer,
    CheckpointerSettings,
    StoreTampered,
    signer_from,
)


def keygen(origin: str) -> int:
    """Print a new signing key and its verifier key, as the deploy files want them."""
    seed = new_seed_base64()
    print(f"CHECKPOINT_SIGNING_KEY={seed}")
    print(f"CHECKPOINT_PUBLIC_KEY={SignerKey.from_base64(origin, seed).verifier.text()}")
    return 0


def main() -> int:
    settings = CheckpointerSettings()
    if sys.argv[1:] == ["keygen"]:
        return keygen(settings.checkpoint_origin)
    configure_logging(
        f"{settings.service_name}-checkpointer", settings.log_level, settings.log_json
    )
    try:
        signer = signer_from(settings)
    except (NoteError, OSError) as exc:
        print(f"checkpointer: {exc}", file=sys.stderr)
        return 2
    if settings.checkpointer_metrics_port:
        start_http_server(settings.checkpointer_metrics_port, addr=settings.http_host)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    try:
        application = CaseApplication(settings)
    except SchemaBehind as exc:  # one line, not a traceback: run the migrations first
        print(f"checkpointer: {exc}", file=sys.stderr)
        return 3
    try:
        checkpointer = Checkpointer(
            AuditStore(application.recorder_),
            signer,
            every_events=settings.checkpoint_every_events,
            every_seconds=settings.checkpoint_every_seconds,
        )
        checkpointer.run(stop, settings.checkpoint_poll_seconds)
    except StoreTampered as exc:  # never sign over a rewritten history: stop, loudly
        logging.getLogger(__name__).critical("refusing to sign: %s", exc)
        print(f"checkpointer: refusing to sign: {exc}", file=sys.stderr)
        return 3
    finally:
        application.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
