"""Sign-in, sessions and CSRF of the console against its real database (no backing service is
called by these pages)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arrears.db import async_engine
from console_service.accounts import create_user
from console_service.app import create_app
from console_service.db import create_tables, sessions, users
from console_service.settings import ConsoleSettings
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

PASSWORD = "correct horse battery staple"
UNUSED = "http://127.0.0.1:9"  # nothing listens: these tests never reach a service


@dataclass
class Console:
    client: httpx.AsyncClient
    engine: AsyncEngine


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    engine = async_engine(database_url, pool_size=2)
    await create_tables(engine)
    now = datetime.now(UTC)
    for name, role in (
        ("collector1", "collector"),
        ("auditor1", "auditor"),
        ("supervisor1", "supervisor"),
    ):
        await create_user(engine, name, PASSWORD, role, now)
    settings = ConsoleSettings(
        database_url=database_url,
        jwt_secret="console-test-secret-long-enough-for-hs256",
        case_service_url=UNUSED,
        contact_service_url=UNUSED,
        legal_service_url=UNUSED,
        session_idle_minutes=30,
    )
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        yield Console(client, engine)
    await engine.dispose()


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _token(page.text)},
    )


async def test_the_sign_in_page_has_labelled_fields_and_a_sign_in_button(console: Console) -> None:
    page = await console.client.get("/login")
    assert page.status_code == 200
    assert '<label for="username">Username</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert ">Sign in</button>" in page.text


async def test_a_collector_signs_in_and_lands_on_the_queue(console: Console) -> None:
    reply = await _sign_in(console.client, "collector1", PASSWORD)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/queue"
    cookie = next(c for c in reply.headers.get_list("set-cookie") if "console_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test


async def test_behind_https_the_session_cookie_is_secure(console: Console) -> None:
    # The ingress ends TLS and says so; the browser sends Secure cookies back over HTTPS only.
    secure = "https://console.test/login"
    page = await console.client.get(secure, headers={"X-Forwarded-Proto": "https"})
    reply = await console.client.post(
        secure,
        data={"username": "auditor1", "password": PASSWORD, "csrf_token": _token(page.text)},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert reply.headers["location"] == "/audit"
    cookie = next(c for c in reply.headers.get_list("set-cookie") if "console_session=" in c)
    assert "Secure" in cookie


async def test_a_wrong_password_is_refused_and_opens_no_session(console: Console) -> None:
    reply = await _sign_in(console.client, "collector1", "not the password")
    assert reply.status_code == 401
    assert "Wrong username or password" in reply.text
    async with console.engine.connect() as conn:
        assert (await conn.execute(select(sessions))).first() is None


async def test_a_sign_in_without_the_form_token_is_refused(console: Console) -> None:
    reply = await console.client.post(
        "/login", data={"username": "collector1", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert reply.status_code == 403
    assert "console_session" not in reply.headers.get("set-cookie", "")


async def test_a_form_posted_without_the_session_csrf_token_is_refused(console: Console) -> None:
    await _sign_in(console.client, "collector1", PASSWORD)
    reply = await console.client.post("/language", data={"language": "zh_CN"})
    assert reply.status_code == 403
    async with console.engine.connect() as conn:
        language = await conn.scalar(
            select(users.c.language).where(users.c.username == "collector1")
        )
    assert language == "en"


async def test_the_language_switch_turns_the_pages_into_chinese(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    page = await console.client.get("/audit")
    reply = await console.client.post(
        "/language", data={"language": "zh_CN", "next": "/audit", "csrf_token": _token(page.text)}
    )
    assert reply.status_code == 303
    page = await console.client.get("/audit")
    assert 'lang="zh-CN"' in page.text
    assert "审计" in page.text


async def test_a_session_idle_past_the_timeout_must_sign_in_again(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    assert (await console.client.get("/audit")).status_code == 200
    async with console.engine.begin() as conn:
        await conn.execute(
            update(sessions).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
        )
    reply = await console.client.get("/audit")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login"
    async with console.engine.connect() as conn:
        assert (await conn.execute(select(sessions))).first() is None


async def test_a_session_in_use_stays_open(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    async with console.engine.begin() as conn:
        await conn.execute(
            update(sessions).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=29))
        )
    assert (await console.client.get("/audit")).status_code == 200


async def test_signing_out_ends_the_session(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    page = await console.client.get("/audit")
    reply = await console.client.post("/logout", data={"csrf_token": _token(page.text)})
    assert reply.headers["location"] == "/login"
    assert (await console.client.get("/audit")).headers["location"] == "/login"


async def test_an_auditor_gets_a_403_page_not_the_attempt_form(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    page = await console.client.get(
        "/cases/7f1c1d3e-0000-4000-8000-000000000001/contact-attempts/new"
    )
    assert page.status_code == 403
    assert "Record attempt" not in page.text
    assert "403" in page.text


async def test_without_a_session_a_page_sends_the_user_to_sign_in(console: Console) -> None:
    reply = await console.client.get("/queue")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login"


async def test_a_new_sign_in_purges_sessions_abandoned_past_the_timeout(console: Console) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    async with console.engine.begin() as conn:
        await conn.execute(
            update(sessions).values(last_seen_at=datetime.now(UTC) - timedelta(hours=2))
        )
    console.client.cookies.clear()
    await _sign_in(console.client, "collector1", PASSWORD)
    async with console.engine.connect() as conn:
        left = (await conn.execute(select(sessions.c.username))).scalars().all()
    assert left == ["collector1"]


async def test_a_malformed_case_address_gets_an_html_page_not_a_server_error(
    console: Console,
) -> None:
    await _sign_in(console.client, "auditor1", PASSWORD)
    page = await console.client.get("/cases/not-a-uuid/history")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    missing = await console.client.get("/no-such-page")
    assert missing.status_code == 404
    assert "<h1>404" in missing.text


async def test_a_page_whose_service_is_away_still_renders_and_says_so(console: Console) -> None:
    await _sign_in(console.client, "supervisor1", PASSWORD)
    page = await console.client.get("/dashboard")
    assert page.status_code == 200
    assert "<h1>Dashboard</h1>" in page.text
    assert "contact-service is unreachable" in page.text
    assert len(page.text) < 50_000
