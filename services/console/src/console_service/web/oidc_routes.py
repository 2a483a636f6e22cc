"""`/login/oidc` and its callback: sign-in with the bank's identity provider (authorization
code with PKCE). The flow's state, nonce and verifier wait in the console's database behind a
short-lived cookie; the session then carries the user's access token for the services."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import httpx
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from console_service import accounts
from console_service.oidc import Flow, SignInFailed
from console_service.web.core import HOME, SESSION_COOKIE, ContextDep, render, secure_cookies

router = APIRouter()
FLOW_COOKIE = "console_oidc_flow"


@router.get("/login/oidc")
async def start(request: Request, ctx: ContextDep) -> Response:
    if ctx.oidc is None:
        return RedirectResponse("/login", status_code=303)
    try:
        url, flow = await ctx.oidc.start()
    except (httpx.HTTPError, SignInFailed, KeyError):
        return _failed(request, ctx, status=503)
    flow_id = secrets.token_urlsafe(32)
    await accounts.save_flow(ctx.engine, flow_id, asdict(flow), datetime.now(UTC))
    reply = RedirectResponse(url, status_code=303)
    reply.set_cookie(
        FLOW_COOKIE,
        flow_id,
        max_age=int(accounts.FLOW_TTL.total_seconds()),
        httponly=True,
        samesite="lax",  # sent on the IdP's top-level redirect back to us
        secure=secure_cookies(request, ctx),
        path="/login/oidc",
    )
    return reply


@router.get("/login/oidc/callback")
async def callback(
    request: Request,
    ctx: ContextDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    cookie = request.cookies.get(FLOW_COOKIE)
    now = datetime.now(UTC)
    stored = await accounts.take_flow(ctx.engine, cookie, now) if cookie else None
    if ctx.oidc is None or stored is None or not code:
        return _failed(request, ctx)
    try:
        identity = await ctx.oidc.finish(Flow(**stored), code, state)
        user = await accounts.identity_user(ctx.engine, identity.username, identity.role, now)
    except (SignInFailed, AuthlibBaseError, httpx.HTTPError, KeyError, ValueError):
        return _failed(request, ctx)
    session_id = await accounts.start_session(
        ctx.engine,
        user,
        now,
        ctx.idle,
        tokens=identity.tokens,
    )
    reply = RedirectResponse(HOME.get(user.role, "/queue"), status_code=303)
    reply.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, ctx),
        path="/",
    )
    reply.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return reply


def _failed(request: Request, ctx: ContextDep, status: int = 401) -> Response:
    return render(
        request, ctx, "login.html", status=status, login_csrf="", error="oidc", username=""
    )
