"""Bearer tokens: who is let in, and as what."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from arrears.auth import Principal, TokenVerifier, issue_token

SECRET = "unit-test-secret-unit-test-secret-0123"


def test_a_token_issued_for_a_role_verifies_to_that_role() -> None:
    token = issue_token(SECRET, "collector", "agent-7", timedelta(minutes=5))

    principal = TokenVerifier(secret=SECRET).verify(token)

    assert principal == Principal(subject="agent-7", roles=frozenset({"collector"}))


def test_an_unknown_role_cannot_be_issued() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        issue_token(SECRET, "janitor", "x", timedelta(minutes=5))


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, "auditor", "a", timedelta(minutes=-5))

    with pytest.raises(jwt.ExpiredSignatureError):
        TokenVerifier(secret=SECRET).verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("another-secret-another-secret-0123456", "admin", "a", timedelta(minutes=5))

    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(secret=SECRET).verify(token)


@pytest.mark.parametrize(
    ("roles", "wanted", "allowed"),
    [
        ({"collector"}, ("collector", "supervisor"), True),
        ({"auditor"}, ("collector",), False),
        ({"admin"}, ("legal",), True),
    ],
)
def test_admin_passes_every_role_check_and_others_only_their_own(
    roles: set[str], wanted: tuple[str, ...], allowed: bool
) -> None:
    assert Principal("p", frozenset(roles)).has_any(wanted) is allowed


def test_a_verifier_needs_a_secret_or_a_jwks_url() -> None:
    with pytest.raises(ValueError, match="JWT_SECRET or JWT_JWKS_URL"):
        TokenVerifier()


class CountingVerifier(TokenVerifier):
    """Counts the full checks (signature and claims) the verifier makes."""

    checks = 0

    def _check(self, token: str) -> tuple[Principal, float]:
        self.checks += 1
        return super()._check(token)


def test_a_verified_token_is_not_checked_again_until_it_expires() -> None:
    now = [0.0]
    verifier = CountingVerifier(secret=SECRET, clock=lambda: now[0])
    token = issue_token(SECRET, "collector", "agent-7", timedelta(minutes=5))
    expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])

    now[0] = expires - 60
    first = verifier.verify(token)
    again = verifier.verify(token)
    assert first == again
    assert verifier.checks == 1

    now[0] = expires + 31  # past the leeway: the cached answer is dropped, the token re-checked
    verifier.verify(token)
    assert verifier.checks == 2


def test_a_refused_token_is_not_remembered() -> None:
    verifier = CountingVerifier(secret=SECRET)
    token = issue_token("another-secret-another-secret-0123456", "admin", "a", timedelta(minutes=5))

    for _ in range(2):
        with pytest.raises(jwt.InvalidSignatureError):
            verifier.verify(token)
    assert verifier.checks == 2
