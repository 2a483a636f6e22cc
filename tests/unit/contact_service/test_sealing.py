"""Sealing and the blind index copy a keyed HMAC for each value (they used `hmac.digest`,
and first `hmac.new(...).digest()`): the same bytes as first written (a stored index or
sealed value must not change)."""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64encode

from contact_service import sealing
from hypothesis import given
from hypothesis import strategies as st


@given(st.text(max_size=80))
def test_index_and_seal_are_as_first_written(value: str) -> None:
    keys = sealing._keys
    raw = value.encode()
    index = hmac.new(keys.index, raw, hashlib.sha256).hexdigest()[:40]
    assert sealing.index(value) == sealing.INDEX_PREFIX + index
    if not value.startswith(sealing.SEALED_PREFIX):
        nonce = hmac.new(keys.nonce, raw, hashlib.sha256).digest()[:12]
        sealed = b64encode(nonce + keys.aead.encrypt(nonce, raw, None)).decode()
        assert sealing.seal(value) == sealing.SEALED_PREFIX + sealed
        assert sealing.unseal(sealing.seal(value)) == value
