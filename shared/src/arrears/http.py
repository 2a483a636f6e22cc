"""HTTP plumbing every service shares: correlation ids, problem+json, metrics, auth setup."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.auth import TokenVerifier
from arrears.errors import NeverFail, install_problem_handlers
from arrears.gate import GatePolicy, InputGate
from arrears.logging import (
    CORRELATION_HEADER,
    new_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)
from arrears.metrics import install_metrics
from arrears.settings import ServiceSettings

_log = logging.getLogger("arrears.http")
# Reads and probes are logged only at DEBUG: every change of state is logged at INFO.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class CorrelationMiddleware:
    """Takes the caller's correlation id (or makes one), keeps it in a context variable for
    the logs and the events this request records, and returns it in the response. Logs one
    line per request with it, so `grep <id>` finds the request in this service's log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(CORRELATION_HEADER)
        correlation_id = (given or new_correlation_id())[:128]
        header = (CORRELATION_HEADER.lower().encode(), correlation_id.encode())
        status = 500  # unless a response starts

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        token = set_correlation_id(correlation_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            method = scope["method"]
            _log.log(
                logging.DEBUG if method in _READS else logging.INFO,
                "%s %s %d %.1f ms",
                method,
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            reset_correlation_id(token)


def install_correlation(app: FastAPI) -> None:
    app.add_middleware(CorrelationMiddleware)


def install_common(app: FastAPI, settings: ServiceSettings, gate: GatePolicy | None = None) -> None:
    """Problem+json errors, metrics, the input gate (token, body size, UTF-8), correlation ids.

    Outermost first: correlation id -> NeverFail -> metrics -> input gate -> the routes."""
    verifier = TokenVerifier(
        secret=settings.jwt_secret,
        jwks_url=settings.jwt_jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_lifetime=timedelta(seconds=settings.jwt_max_lifetime_seconds),
    )
    app.state.token_verifier = verifier
    install_problem_handlers(app)
    app.add_middleware(InputGate, verifier=verifier, policy=gate or GatePolicy())
    install_metrics(app, settings.service_name)
    app.add_middleware(NeverFail)
    install_correlation(app)
