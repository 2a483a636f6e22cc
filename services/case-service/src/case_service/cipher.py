"""The library's AES-GCM cipher, on a faster primitive.

`eventsourcing.cipher.AESCipher` builds a PyCryptodome GCM object per event (about 0.1 ms of
pure Python set-up), which was a third of the cost of saving an event. This subclass keeps
the library's key handling and its stored format, `nonce (12) | tag (16) | ciphertext`, and
does the AES-GCM work with `cryptography`'s OpenSSL binding. Data written by either class
reads with the other, so switching is not a migration.

Rotation without rewriting: new states are sealed with CIPHER_KEY, and states sealed with a
key in CIPHER_OLD_KEYS (comma-separated) still open (GCM's tag tells a wrong key at once).
Rewriting stored states under a new key would change the bytes the audit hash chain commits
to (docs/audit.md), so old keys are kept for reading instead.
"""

from __future__ import annotations

import os
from base64 import b64decode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

NONCE_BYTES = 12
TAG_BYTES = 16


class FastAESCipher(AESCipher):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._aead = AESGCM(self.key)
        old_keys = [k.strip() for k in (environment.get("CIPHER_OLD_KEYS") or "").split(",")]
        self._readers = [self._aead] + [AESGCM(b64decode(k)) for k in old_keys if k]

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, None)  # ciphertext | tag
        return nonce + sealed[-TAG_BYTES:] + sealed[:-TAG_BYTES]

    def decrypt(self, ciphertext: bytes) -> bytes:
        if len(ciphertext) < NONCE_BYTES + TAG_BYTES:
            raise ValueError("Damaged cipher text: too short")
        nonce = ciphertext[:NONCE_BYTES]
        tag = ciphertext[NONCE_BYTES : NONCE_BYTES + TAG_BYTES]
        encrypted = ciphertext[NONCE_BYTES + TAG_BYTES :]
        for aead in self._readers:
            try:
                return aead.decrypt(nonce, encrypted + tag, None)
            except InvalidTag:
                continue
        raise ValueError("Cipher text is damaged: MAC check failed")
