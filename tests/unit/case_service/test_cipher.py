"""The faster cipher keeps the library's stored format: each reads what the other wrote."""

from __future__ import annotations

import pytest
from case_service.cipher import FastAESCipher
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment


@pytest.fixture
def environment() -> Environment:
    return Environment(env={"CIPHER_KEY": AESCipher.create_key(num_bytes=32)})


def test_the_library_cipher_reads_what_the_fast_one_wrote(environment: Environment) -> None:
    sealed = FastAESCipher(environment).encrypt(b'{"name": "Li Wei"}')
    assert AESCipher(environment).decrypt(sealed) == b'{"name": "Li Wei"}'


def test_the_fast_cipher_reads_what_the_library_wrote(environment: Environment) -> None:
    sealed = AESCipher(environment).encrypt(b'{"name": "Li Wei"}')
    assert FastAESCipher(environment).decrypt(sealed) == b'{"name": "Li Wei"}'


def test_a_damaged_ciphertext_is_refused(environment: Environment) -> None:
    sealed = bytearray(FastAESCipher(environment).encrypt(b"payload"))
    sealed[-1] ^= 0x01
    with pytest.raises(ValueError, match="damaged"):
        FastAESCipher(environment).decrypt(bytes(sealed))


def test_each_encryption_uses_a_fresh_nonce(environment: Environment) -> None:
    cipher = FastAESCipher(environment)
    assert cipher.encrypt(b"same")[:12] != cipher.encrypt(b"same")[:12]
