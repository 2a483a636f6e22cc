"""Liveness and readiness probes for the services with an async database engine."""

# No `from __future__ import annotations` here: FastAPI must see the dependency in `readyz`'s
# signature as an object, and it is a local of `probes_router`.

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# What readiness checks: the service's engine and its KAFKA_BOOTSTRAP_SERVERS.
ReadinessInputs = tuple[AsyncEngine, str]


async def broker_reachable(bootstrap_servers: str) -> bool:
    """True when any bootstrap server accepts a TCP connection within a second."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host or "127.0.0.1", int(port)), timeout=1.0
            )
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        return True
    return False


async def readiness(engine: AsyncEngine, bootstrap_servers: str) -> JSONResponse:
    """200 when the database and the broker answer, else 503 saying which did not."""
    checks: dict[str, Any] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = "ok" if await broker_reachable(bootstrap_servers) else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def probes_router(inputs: Callable[..., ReadinessInputs]) -> APIRouter:
    """`/healthz` (alive) and `/readyz`; `inputs` is a FastAPI dependency giving the engine
    and the bootstrap servers to check."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(checked: Annotated[ReadinessInputs, Depends(inputs)]) -> JSONResponse:
        """Ready when the database and the broker answer."""
        return await readiness(*checked)

    return router
