"""What every page shares: the app's context, the signed-in session, CSRF, roles, rendering."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from arrears.clock import Clock
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncEngine

from console_service import accounts
from console_service.accounts import Session, User
from console_service.backends import Backends
from console_service.credentials import TokenExpired, TokenMinter
from console_service.i18n import LANGUAGE_NAMES, Formatter
from console_service.oidc import OidcClient, RefreshFailed
from console_service.settings import ConsoleSettings

SESSION_COOKIE = "console_session"
# Screens show a case's figures, not its instalment schedule (which grows with every missed
# payment): case-service leaves the schedule out when asked.
SUMMARY = {"installments": "false"}
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# What each role may open; the services check again (they hold the rules), the console only
# spares a user forms they could never submit.
CAN = {
    "work_cases": {"collector", "supervisor", "admin"},
    "read_cases": {"collector", "supervisor", "auditor", "legal", "admin"},
    "audit": {"auditor", "supervisor", "legal", "admin"},
    "dashboard": {"supervisor", "admin"},
    "legal": {"legal", "supervisor", "admin"},
}
HOME = {
    "collector": "/queue",
    "supervisor": "/dashboard",
    "legal": "/legal",
    "auditor": "/audit",
    "admin": "/dashboard",
}


@dataclass
class ConsoleContext:
    settings: ConsoleSettings
    engine: AsyncEngine
    backends: Backends
    minter: TokenMinter
    clock: Clock
    templates: Environment
    oidc: OidcClient | None = None

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.session_idle_minutes)

    @property
    def local_sign_in(self) -> bool:
        """Passwords at /login: by default only when no identity provider is configured."""
        chosen = self.settings.local_sign_in
        return self.oidc is None if chosen is None else chosen


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # A fresh Idempotency-Key per rendered form: a double submit is recorded once.
    env.globals["new_key"] = lambda: str(uuid.uuid4())
    return env


class SignInRequired(Exception):
    """No session, or one that went idle: back to /login."""


class Forbidden(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def get_context(request: Request) -> ConsoleContext:
    ctx: ConsoleContext = request.app.state.console
    return ctx


ContextDep = Annotated[ConsoleContext, Depends(get_context)]


async def current_session(request: Request, ctx: ContextDep) -> Session:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired
    session = await accounts.resume_session(ctx.engine, cookie, _now(ctx), ctx.idle)
    if session is None:
        raise SignInRequired
    session = await _renewed(ctx, session)
    request.state.session = session
    return session


# One renewal at a time per session in this process: a page's parallel htmx requests would
# otherwise each spend the refresh token (which an IdP that rotates them accepts only once).
_RENEWING: dict[str, asyncio.Lock] = {}


async def _renewed(ctx: ConsoleContext, session: Session) -> Session:
    """The session with an access token good for a while yet: renewed with the IdP's refresh
    token when it expires within OIDC_REFRESH_MARGIN_SECONDS. A refusal leaves the token as
    it is while it lasts; once it has expired the session ends and the user signs in again."""
    expires = session.token_expires_at
    margin = timedelta(seconds=ctx.settings.oidc_refresh_margin_seconds)
    if session.access_token is None or expires is None or expires - _now(ctx) > margin:
        return session
    if ctx.oidc is None or not session.refresh_token:
        return session  # TokenMinter refuses an expired token: back to /login
    lock = _RENEWING.setdefault(session.key, asyncio.Lock())
    try:
        async with lock:
            # Another request may have renewed it while this one waited.
            held = await accounts.session_tokens(ctx.engine, session.key)
            if held is not None and held.expires_at and held.expires_at - _now(ctx) > margin:
                return replace(
                    session, access_token=held.access_token, token_expires_at=held.expires_at
                )
            try:
                tokens = await ctx.oidc.refresh(session.refresh_token)
            except RefreshFailed:
                if expires <= _now(ctx):
                    await accounts.end_session_by_key(ctx.engine, session.key)
                    raise SignInRequired from None
                return session
            await accounts.store_tokens(ctx.engine, session.key, tokens)
    finally:
        if not lock.locked():
            _RENEWING.pop(session.key, None)
    return replace(
        session,
        access_token=tokens.access_token,
        token_expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token or session.refresh_token,
        id_token=tokens.id_token or session.id_token,
    )


SessionDep = Annotated[Session, Depends(current_session)]


def _now(_ctx: ConsoleContext) -> datetime:
    # Sessions age on real time even when the business clock is simulated.
    return datetime.now(UTC)


async def checked_form(request: Request, session: SessionDep) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's (else 403)."""
    form = await request.form()
    given = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token") or "")
    if not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise Forbidden("csrf")
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def allowed(user: User, right: str) -> bool:
    return user.role in CAN[right]


def require(user: User, right: str) -> None:
    if not allowed(user, right):
        raise Forbidden(right)


def token(ctx: ConsoleContext, session: Session) -> str:
    try:
        return ctx.minter.token_for(session)
    except TokenExpired:
        raise SignInRequired from None


def render(
    request: Request,
    ctx: ConsoleContext,
    name: str,
    *,
    status: int = 200,
    language: str | None = None,
    **values: Any,
) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    lang = language or (session.user.language if session else _accepted(request))
    fmt = Formatter(lang)
    context = {
        "request": request,
        "session": session,
        "user": session.user if session else None,
        "csrf": session.csrf_token if session else "",
        "fmt": fmt,
        "_": fmt.gettext,
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh_CN" else "en",
        "languages": LANGUAGE_NAMES,
        "can": (lambda right: allowed(session.user, right)) if session else (lambda _r: False),
        "now": ctx.clock.now(),
        "oidc_enabled": ctx.oidc is not None,
        "local_sign_in": ctx.local_sign_in,
        **values,
    }
    html = ctx.templates.get_template(name).render(context)
    return HTMLResponse(html, status_code=status)


def _accepted(request: Request) -> str:
    header = request.headers.get("accept-language", "").lower()
    return "zh_CN" if header.startswith("zh") else "en"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def secure_cookies(request: Request, ctx: ConsoleContext) -> bool:
    mode = ctx.settings.cookie_secure
    if mode in ("always", "never"):
        return mode == "always"
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"
