"""Sign-in with an OpenID Connect provider: authorization code with PKCE, the ID token
checked (signature, issuer, audience, nonce), the role from its claim, and the services then
called with the user's own access token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from arrears.db import async_engine
from console_service.app import create_app
from console_service.db import create_tables, sessions
from console_service.settings import ConsoleSettings
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .fake_idp import FakeIdp, running_idp

CONSOLE = "http://console.test"
UNUSED = "http://127.0.0.1:9"


@dataclass
class Setup:
    console: httpx.AsyncClient
    idp: FakeIdp
    engine: AsyncEngine


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIdp]:
    # The fake IdP speaks plain HTTP on loopback; a real one is HTTPS.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    with running_idp() as running:
        yield running


@pytest.fixture
async def setup(database_url: str, idp: FakeIdp) -> AsyncIterator[Setup]:
    engine = async_engine(database_url, pool_size=2)
    await create_tables(engine)
    settings = ConsoleSettings(
        database_url=database_url,
        jwt_secret=None,
        case_service_url=UNUSED,
        contact_service_url=UNUSED,
        legal_service_url=UNUSED,
        oidc_issuer=idp.url,
        oidc_client_id=idp.client_id,
        oidc_client_secret=idp.client_secret,
        oidc_redirect_url=f"{CONSOLE}/login/oidc/callback",
    )
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE) as console:
        yield Setup(console, idp, engine)
    await engine.dispose()


async def _at_the_idp(setup: Setup) -> str:
    """Start at the console, follow it to the IdP, and return the IdP's redirect back."""
    start = await setup.console.get("/login/oidc")
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert authorize.startswith(f"{setup.idp.url}/authorize")
    async with httpx.AsyncClient() as browser:
        back = await browser.get(authorize)
    assert back.status_code in (302, 307)
    location: str = back.headers["location"]
    assert location.startswith(f"{CONSOLE}/login/oidc/callback")
    return location.removeprefix(CONSOLE)


async def test_the_sign_in_page_offers_the_identity_provider_and_no_passwords(
    setup: Setup,
) -> None:
    page = await setup.console.get("/login")
    assert "Sign in with the bank&#39;s identity provider" in page.text
    assert 'name="password"' not in page.text
    refused = await setup.console.post("/login", data={"username": "x", "password": "y"})
    assert refused.status_code == 403


async def test_a_user_signs_in_at_the_identity_provider_with_pkce(setup: Setup) -> None:
    callback = await _at_the_idp(setup)
    signed_in = await setup.console.get(callback)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/audit"  # the role claimed: auditor
    page = await setup.console.get("/audit")
    assert page.status_code == 200
    assert "wang.fang" in page.text
    async with setup.engine.connect() as conn:
        stored = (await conn.execute(select(sessions.c.access_token))).scalar_one()
    # The services will receive the user's own access token from the IdP.
    assert stored == setup.idp.issued["access_token"]


async def test_a_callback_cannot_be_replayed(setup: Setup) -> None:
    callback = await _at_the_idp(setup)
    assert (await setup.console.get(callback)).status_code == 303
    again = await setup.console.get(callback)
    assert again.status_code == 401
    assert "identity provider failed" in again.text


async def test_a_forged_state_is_refused(setup: Setup) -> None:
    callback = await _at_the_idp(setup)
    path, _, query = callback.partition("?")
    code = parse_qs(query)["code"][0]
    refused = await setup.console.get(path, params={"code": code, "state": "forged"})
    assert refused.status_code == 401
    assert "console_session" not in refused.headers.get("set-cookie", "")


async def test_an_id_token_for_another_sign_in_is_refused(setup: Setup) -> None:
    setup.idp.wrong_nonce = True
    refused = await setup.console.get(await _at_the_idp(setup))
    assert refused.status_code == 401


async def test_a_user_without_a_console_role_is_refused(setup: Setup) -> None:
    setup.idp.roles = ["origination"]
    refused = await setup.console.get(await _at_the_idp(setup))
    assert refused.status_code == 401
    async with setup.engine.connect() as conn:
        assert (await conn.execute(select(sessions))).first() is None


async def _signed_in(setup: Setup) -> str:
    """Sign in at the IdP; the CSRF token of the first page."""
    assert (await setup.console.get(await _at_the_idp(setup))).status_code == 303
    page = await setup.console.get("/audit")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def _stored_tokens(setup: Setup) -> tuple[str, str | None]:
    async with setup.engine.connect() as conn:
        row = (await conn.execute(select(sessions.c.access_token, sessions.c.refresh_token))).one()
    return row[0], row[1]


async def test_the_access_token_is_renewed_before_it_expires(setup: Setup) -> None:
    setup.idp.expires_in = 30  # inside the console's 60-second margin: renewed on next use
    await _signed_in(setup)  # the first page already renews it
    assert setup.idp.refreshes == 1
    access, refresh = await _stored_tokens(setup)
    # The session holds the renewed tokens (the IdP rotated the refresh token).
    assert access == setup.idp.issued["access_token"]
    assert refresh == setup.idp.issued["refresh_token"]
    assert (await setup.console.get("/audit")).status_code == 200
    assert setup.idp.refreshes == 2


async def test_a_token_far_from_expiry_is_not_renewed(setup: Setup) -> None:
    await _signed_in(setup)
    assert (await setup.console.get("/audit")).status_code == 200
    assert setup.idp.refreshes == 0


async def test_a_refused_renewal_of_an_expired_token_ends_the_session(setup: Setup) -> None:
    await _signed_in(setup)
    async with setup.engine.begin() as conn:
        await conn.execute(
            update(sessions).values(token_expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )
    setup.idp.refuse_refresh = True
    refused = await setup.console.get("/audit")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/login"
    async with setup.engine.connect() as conn:
        assert (await conn.execute(select(sessions))).first() is None


async def test_a_refused_renewal_keeps_a_token_that_still_lasts(setup: Setup) -> None:
    setup.idp.expires_in = 30
    setup.idp.refuse_refresh = True
    await _signed_in(setup)
    assert (await setup.console.get("/audit")).status_code == 200


async def test_sign_out_ends_the_session_at_the_identity_provider(setup: Setup) -> None:
    csrf = await _signed_in(setup)
    id_token = setup.idp.issued["id_token"]
    out = await setup.console.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    location = out.headers["location"]
    assert location.startswith(f"{setup.idp.url}/logout?")
    async with httpx.AsyncClient() as browser:
        back = await browser.get(location)
    assert back.headers["location"] == f"{CONSOLE}/login"
    assert setup.idp.logouts == [
        {
            "id_token_hint": id_token,
            "client_id": setup.idp.client_id,
            "post_logout_redirect_uri": f"{CONSOLE}/login",
        }
    ]
    async with setup.engine.connect() as conn:
        assert (await conn.execute(select(sessions))).first() is None
    assert (await setup.console.get("/audit")).headers["location"] == "/login"


async def test_sign_out_stays_here_when_the_provider_has_no_end_session_endpoint(
    setup: Setup,
) -> None:
    setup.idp.end_session = False
    csrf = await _signed_in(setup)
    out = await setup.console.post("/logout", data={"csrf_token": csrf})
    assert out.headers["location"] == "/login"
    assert setup.idp.logouts == []
