"""The console's FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from arrears.clock import Clock, clock_from
from arrears.db import async_engine
from arrears.http import install_correlation
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from console_service.backends import Backend, BackendError, Backends
from console_service.credentials import TokenMinter
from console_service.migrations import MIGRATIONS
from console_service.oidc import OidcClient
from console_service.settings import ConsoleSettings
from console_service.web import (
    audit,
    case,
    collector,
    conduct,
    legal,
    legal_steps,
    oidc_routes,
    plans,
    signin,
    supervisor,
)
from console_service.web.core import (
    ConsoleContext,
    Forbidden,
    SignInRequired,
    is_htmx,
    render,
    template_environment,
)

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: ConsoleSettings | None = None,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    settings = settings or ConsoleSettings()
    timeout = settings.backend_timeout_seconds
    ctx = ConsoleContext(
        settings=settings,
        engine=engine or async_engine(settings.database_url, pool_size=settings.db_pool_size),
        backends=Backends(
            case=Backend("case-service", settings.case_service_url, timeout),
            contact=Backend("contact-service", settings.contact_service_url, timeout),
            legal=Backend("legal-service", settings.legal_service_url, timeout),
        ),
        minter=TokenMinter(settings.jwt_secret, timedelta(minutes=settings.service_token_minutes)),
        clock=clock or clock_from(settings.clock_file),
        templates=template_environment(),
        oidc=OidcClient(settings) if settings.oidc_issuer else None,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The schema is migrated by `python -m console_service migrate` (or at start with
        # MIGRATE_ON_START); a database behind head is refused in one line.
        await MIGRATIONS.prepare_engine(ctx.engine, migrate=settings.migrate_on_start)
        yield
        await ctx.backends.aclose()
        if engine is None:
            await ctx.engine.dispose()

    app = FastAPI(title="Arrears console", version="1.0.0", lifespan=lifespan, docs_url=None)
    app.state.console = ctx
    install_correlation(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: SignInRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # A page address or form the console cannot read: an HTML page naming the field.
        where = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
        error = BackendError(422, {"detail": f"not a valid value: {where}"})
        return render(request, ctx, "error.html", status=422, error=error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = BackendError(exc.status_code, {"detail": str(exc.detail)})
        return render(request, ctx, "error.html", status=exc.status_code, error=error)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, ctx, "forbidden.html", status=403, reason=exc.reason)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        # Ready when its own database answers; the services have their own probes.
        try:
            async with ctx.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            return JSONResponse({"status": "unavailable", "database": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ok"})

    @app.middleware("http")
    async def no_store(request: Request, call_next: object) -> Response:
        response: Response = await call_next(request)  # type: ignore[operator]
        # Pages carry personal data: never kept by shared caches; framing forbidden.
        if not request.url.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    routers = (
        signin,
        oidc_routes,
        collector,
        case,
        conduct,
        plans,
        audit,
        supervisor,
        legal,
        legal_steps,
    )
    for module in routers:
        app.include_router(module.router)
    return app
