"""Passwords are kept as argon2id hashes and checked against them."""

from __future__ import annotations

from console_service.passwords import hash_password, verify_password


def test_a_password_is_stored_as_an_argon2id_hash_never_in_clear() -> None:
    stored = hash_password("s3cret-enough-password")
    assert stored.startswith("$argon2id$")
    assert "s3cret" not in stored


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("s3cret-enough-password")
    assert verify_password(stored, "s3cret-enough-password")
    assert not verify_password(stored, "s3cret-enough-passwort")


def test_two_hashes_of_one_password_differ_by_their_salt() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_an_unknown_user_or_a_broken_hash_never_verifies() -> None:
    assert not verify_password(None, "not-a-password")
    assert not verify_password("garbage", "anything")
