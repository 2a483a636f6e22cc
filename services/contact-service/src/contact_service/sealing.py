"""contact-service keeps no personal data in clear (docs/contact-service.md, "Personal data").

Numbers, e-mail addresses and postal addresses are stored **sealed** (AES-256-GCM under
contact-service's own data key) beside a keyed **blind index** (HMAC-SHA-256 of the
normalised value) that every match uses: a restriction and its number, the guard's "who is
behind this number", a case's points. Only two paths open a sealed value: handing a number
or address to the dialer / printer (task outbox, opened as it is published) and forwarding
an attempt to case-service (command outbox, opened as it is sent). Answers and logs show
values masked.

Sealing is deterministic (the nonce is a keyed hash of the value), so an outbox row written
twice for one request compares equal (its Idempotency-Key check) and a value seals the same
wherever it is stored; it reveals no more than the blind index already does: equality.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64decode, b64encode
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

INDEX_PREFIX = "pi:"
SEALED_PREFIX = "sealed:"
_DEV_SECRET = b"arrears-embedded-contact-data-key"


class _Keys:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

        def derive(label: bytes) -> bytes:
            return hmac.new(secret, label, hashlib.sha256).digest()

        self.index = derive(b"blind-index")
        self.nonce = derive(b"nonce")
        self.aead = AESGCM(derive(b"seal"))
        # Keyed once and copied for each value: `hmac.digest` looks the digest up in
        # OpenSSL 3 on every call, and a copy of a keyed HMAC skips that and the key's
        # padding (~2.3 us an HMAC, ~1.4 copied; a rebuild makes three for each new case).
        self.index_mac = hmac.new(self.index, digestmod=hashlib.sha256)
        self.nonce_mac = hmac.new(self.nonce, digestmod=hashlib.sha256)


_keys = _Keys(_DEV_SECRET)


def configure(secret: bytes) -> None:
    """Set the service's data key (CONTACT_DATA_KEY, else derived from CIPHER_KEY); the
    embedded default's fixed key is for demos and tests only."""
    global _keys
    if secret != _keys.secret:  # callers then forget cached indexes (policy.model)
        _keys = _Keys(secret)


def secret_from(contact_data_key: str, cipher_key: str | None) -> bytes:
    if contact_data_key:
        return b64decode(contact_data_key)
    if cipher_key:
        return hmac.new(b64decode(cipher_key), b"arrears/contact-data", hashlib.sha256).digest()
    return _DEV_SECRET


def _mac(keyed: hmac.HMAC, raw: bytes) -> bytes:
    """HMAC-SHA-256 of `raw` under the key `keyed` holds: the bytes of `hmac.digest`."""
    mac = keyed.copy()
    mac.update(raw)
    return mac.digest()


def index(normalised: str) -> str:
    return INDEX_PREFIX + _mac(_keys.index_mac, normalised.encode()).hex()[:40]


def is_index(value: str) -> bool:
    return value.startswith(INDEX_PREFIX) and "@" not in value


def seal(value: str) -> str:
    if value.startswith(SEALED_PREFIX):
        return value
    raw = value.encode()
    nonce = _mac(_keys.nonce_mac, raw)[:12]
    return SEALED_PREFIX + b64encode(nonce + _keys.aead.encrypt(nonce, raw, None)).decode()


def unseal(value: str | None) -> str | None:
    """The clear value of a sealed one (anything else as given)."""
    if value is None or not value.startswith(SEALED_PREFIX):
        return value
    raw = b64decode(value[len(SEALED_PREFIX) :])
    try:
        return _keys.aead.decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        return None


def seal_fields(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `data` with these (string) fields sealed."""
    return {k: seal(v) if k in names and isinstance(v, str) else v for k, v in data.items()}


def unseal_tree(node: Any) -> Any:
    """A copy of `node` with every sealed string opened."""
    if isinstance(node, str):
        return unseal(node)
    if isinstance(node, dict):
        return {k: unseal_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [unseal_tree(v) for v in node]
    return node
