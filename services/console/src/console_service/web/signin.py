"""`/login`, `/logout` and the language switch. The sign-in form has no session yet, so its
CSRF token is a double-submit one: a random value in a cookie and in the form, which must agree."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console_service import accounts
from console_service.web.core import (
    HOME,
    SESSION_COOKIE,
    ContextDep,
    FormDep,
    SessionDep,
    render,
    secure_cookies,
)

router = APIRouter()
LOGIN_CSRF_COOKIE = "console_login_csrf"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, ctx: ContextDep) -> Response:
    return _login_form(request, ctx, error=None, username="", status=200)


def _login_form(
    request: Request, ctx: ContextDep, *, error: str | None, username: str, status: int
) -> Response:
    nonce = secrets.token_urlsafe(24)
    page = render(
        request, ctx, "login.html", status=status, login_csrf=nonce, error=error, username=username
    )
    page.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, ctx),
        path="/login",
    )
    return page


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    ctx: ContextDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not ctx.local_sign_in:
        return _login_form(request, ctx, error="local-off", username="", status=403)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(request, ctx, error="csrf", username=username, status=403)
    user = await accounts.authenticate(ctx.engine, username.strip(), password)
    if user is None:
        return _login_form(request, ctx, error="credentials", username=username, status=401)
    session_id = await accounts.start_session(ctx.engine, user, datetime.now(UTC), ctx.idle)
    reply = RedirectResponse(HOME.get(user.role, "/queue"), status_code=303)
    reply.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, ctx),
        path="/",
    )
    reply.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return reply


@router.post("/logout")
async def logout(request: Request, ctx: ContextDep, _form: FormDep) -> Response:
    """Sign out here, and at the IdP too when the user signed in there and it publishes an
    end_session_endpoint (RP-initiated logout, with the ID token as the hint); the IdP then
    sends the browser back to /login."""
    cookie = request.cookies.get(SESSION_COOKIE)
    id_token = await accounts.end_session(ctx.engine, cookie) if cookie else None
    where = "/login"
    if ctx.oidc is not None and id_token:
        where = await ctx.oidc.end_session_url(id_token, ctx.oidc.post_logout_url) or where
    reply = RedirectResponse(where, status_code=303)
    reply.delete_cookie(SESSION_COOKIE, path="/")
    return reply


@router.post("/language")
async def language(ctx: ContextDep, session: SessionDep, form: FormDep) -> Response:
    chosen = form.get("language", "en")
    if chosen in accounts.LANGUAGES:
        await accounts.set_language(ctx.engine, session.user.username, chosen)
    back = form.get("next", "/")
    # Only a path on this site: never an open redirect.
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


@router.get("/")
async def home(session: SessionDep) -> Response:
    return RedirectResponse(HOME.get(session.user.role, "/queue"), status_code=303)
