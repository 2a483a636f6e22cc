"""Liveness and readiness probes."""

from __future__ import annotations

import socket
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from case_service.api.deps import CasesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


def _broker_reachable(bootstrap_servers: str) -> bool:
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


@router.get("/readyz")
def readyz(cases: CasesDep) -> JSONResponse:
    """Ready when the event store and the broker answer."""
    checks: dict[str, Any] = {}
    try:
        cases.check_database()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = (
        "ok" if _broker_reachable(cases.settings.kafka_bootstrap_servers) else "unavailable"
    )
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
