"""Rotating the cipher key keeps stored bytes (and so the hash chain) as they are."""

from __future__ import annotations

import pytest
from case_service.cipher import FastAESCipher
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

OLD = AESCipher.create_key(num_bytes=32)
NEW = AESCipher.create_key(num_bytes=32)


def test_a_state_sealed_with_an_old_key_opens_after_rotation() -> None:
    sealed = FastAESCipher(Environment(env={"CIPHER_KEY": OLD})).encrypt(b"Li Wei")
    rotated = FastAESCipher(Environment(env={"CIPHER_KEY": NEW, "CIPHER_OLD_KEYS": OLD}))

    assert rotated.decrypt(sealed) == b"Li Wei"
    assert FastAESCipher(Environment(env={"CIPHER_KEY": NEW})).encrypt(b"x")  # new key writes
    with pytest.raises(ValueError, match="damaged"):
        FastAESCipher(Environment(env={"CIPHER_KEY": OLD})).decrypt(rotated.encrypt(b"Li Wei"))


def test_without_the_old_key_an_old_state_does_not_open() -> None:
    sealed = FastAESCipher(Environment(env={"CIPHER_KEY": OLD})).encrypt(b"Li Wei")

    with pytest.raises(ValueError, match="damaged"):
        FastAESCipher(Environment(env={"CIPHER_KEY": NEW})).decrypt(sealed)
