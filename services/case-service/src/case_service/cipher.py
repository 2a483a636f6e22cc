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

Nonces (`fresh_nonce`, here and for the per-subject sealing in pii/fields.py) are 12 random
bytes from the OS, as before, but read a few kilobytes at a time: a system call per nonce
was a tenth of the cost of sealing a personal value.
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
_NONCES_PER_READ = 341  # 4,092 bytes of the OS's randomness a read


class _Nonces:
    """Fresh random nonces, each handed out once. `list.pop` is atomic, so two threads never
    get the same one (a refill racing another only discards unread randomness); a forked
    child starts empty, so it never reuses a nonce its parent holds unread."""

    def __init__(self) -> None:
        self._unused: list[bytes] = []
        os.register_at_fork(after_in_child=self._unused.clear)

    def take(self) -> bytes:
        try:
            return self._unused.pop()
        except IndexError:
            block = os.urandom(NONCE_BYTES * _NONCES_PER_READ)
            fresh = [block[i : i + NONCE_BYTES] for i in range(0, len(block), NONCE_BYTES)]
            nonce = fresh.pop()
            self._unused.extend(fresh)
            return nonce


fresh_nonce = _Nonces().take


class FastAESCipher(AESCipher):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._aead = AESGCM(self.key)
        old_keys = [k.strip() for k in (environment.get("CIPHER_OLD_KEYS") or "").split(",")]
        self._readers = [self._aead] + [AESGCM(b64decode(k)) for k in old_keys if k]

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = fresh_nonce()
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
