"""HTTP plumbing every service shares: correlation ids, problem+json, metrics, auth setup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from arrears.auth import TokenVerifier
from arrears.errors import install_problem_handlers
from arrears.logging import (
    CORRELATION_HEADER,
    new_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)
from arrears.metrics import install_metrics
from arrears.settings import ServiceSettings


def install_correlation(app: FastAPI) -> None:
    @app.middleware("http")
    async def correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        correlation_id = request.headers.get(CORRELATION_HEADER) or new_correlation_id()
        token = set_correlation_id(correlation_id[:128])
        try:
            response = await call_next(request)
        finally:
            reset_correlation_id(token)
        response.headers[CORRELATION_HEADER] = correlation_id[:128]
        return response


def install_common(app: FastAPI, settings: ServiceSettings) -> None:
    """Problem+json errors, metrics, correlation ids and the token verifier."""
    app.state.token_verifier = TokenVerifier(
        secret=settings.jwt_secret,
        jwks_url=settings.jwt_jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    install_problem_handlers(app)
    install_metrics(app, settings.service_name)
    install_correlation(app)
