"""Where personal data sits in an event's state, and sealing it leaf by leaf.

Each event class names its personal attributes (`personal_data`); structured ones are
refined here to the leaves that identify a person (a borrower's name, address and phone
numbers; a guarantor's; the collateral's description), so ids, time zones and kinds stay
readable for the rules and for consumers that need no personal data. A sealed leaf is

    {"ref": <subject id>, "enc": base64(nonce 12 | AES-256-GCM ciphertext | tag 16),
     "key_id": <subject id>}

with the subject id as associated data: the same object is stored (inside the whole-record
cipher) and published on Kafka. A value whose key was destroyed reads as ERASED.
"""

from __future__ import annotations

from base64 import b64decode
from binascii import b2a_base64
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from case_service.cipher import fresh_nonce

ERASED = "[erased]"
SEALED_KEYS = frozenset({"ref", "enc", "key_id"})

# Within a personal attribute, the leaves that are personal ("[]": every item of a list).
REFINED: dict[str, tuple[tuple[str, ...], ...]] = {
    "borrower": (("name",), ("address",), ("phones", "[]", "number")),
    "collateral": (("description",),),
}
GUARANTOR_LEAVES: tuple[tuple[str, ...], ...] = (("name",), ("phones", "[]", "number"))

HOW_TO_DECRYPT = (
    "A personal value is published sealed: {ref, enc, key_id}. `ref` is a pseudonymous "
    "reference to the data subject (a keyed hash, stable per subject), so consumers needing no "
    "personal data can match on it. A consumer entitled to the clear value fetches the "
    "subject's AES-256-GCM key with GET /v1/subject-keys/{key_id} (case-service, service role; "
    "410 Gone once the data was erased), then decrypts base64(enc) = nonce (12 bytes) | "
    "ciphertext | tag (16 bytes) with key_id (ASCII) as associated data; the plaintext is the "
    "UTF-8 value. `[erased]` stands where a value was recorded after its subject's erasure."
)
SEALED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": HOW_TO_DECRYPT,
    "required": ["ref", "enc", "key_id"],
    "additionalProperties": False,
    "properties": {
        "ref": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "enc": {"type": "string", "contentEncoding": "base64"},
        "key_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
}


def leaf_paths(personal: tuple[str, ...]) -> list[str]:
    """The personal leaves as dotted paths ("[]": each item of a list), for the schemas."""
    paths: list[str] = []
    for name in personal:
        if name == "guarantors":
            parts = [("guarantors", "[]", *p) for p in GUARANTOR_LEAVES]
        else:
            parts = [(name, *p) for p in REFINED.get(name, ((),))]
        paths += [".".join(p).replace(".[]", "[]") for p in parts]
    return paths


# (container, key): a leaf to replace in place, and the role of the subject it belongs to.
Leaf = tuple[Any, Any, str]


def leaves(state: dict[str, Any], personal: tuple[str, ...]) -> Iterator[Leaf]:
    """Every personal leaf of an event's state, with its subject's role ("borrower" or
    "guarantor:<id>"); personal data of later events belongs to the case's borrower."""
    for name in personal:
        if name not in state:
            continue
        if name == "guarantors" and isinstance(state[name], list):
            for guarantor in state[name]:
                if isinstance(guarantor, dict):
                    role = f"guarantor:{guarantor.get('id')}"
                    for path in GUARANTOR_LEAVES:
                        yield from _walk(guarantor, path, role)
        elif name in REFINED:
            for path in REFINED[name]:
                yield from _walk(state[name], path, "borrower")
        elif state[name] is not None:  # a whole attribute: _walk(state, (name,), ...) inlined
            yield state, name, "borrower"


def _walk(node: Any, path: tuple[str, ...], role: str) -> Iterator[Leaf]:
    head, rest = path[0], path[1:]
    if head == "[]":
        keys: list[Any] = list(range(len(node))) if isinstance(node, list) else []
    else:
        keys = [head] if isinstance(node, dict) and head in node else []
    for key in keys:
        if rest:
            yield from _walk(node[key], rest, role)
        elif node[key] is not None:
            yield node, key, role


def seal(aead: AESGCM, subject_id: str, value: Any, subject_ad: bytes = b"") -> dict[str, str]:
    """`subject_ad`: subject_id encoded, when the caller has it already (sealing many values)."""
    nonce = fresh_nonce()
    sealed = aead.encrypt(nonce, str(value).encode(), subject_ad or subject_id.encode())
    enc = b2a_base64(nonce + sealed, newline=False).decode("ascii")  # base64.b64encode's core
    return {"ref": subject_id, "enc": enc, "key_id": subject_id}


def copy_containers(value: Any) -> Any:
    """A copy of the dicts and lists in `value` (the only mutable types an event's state
    holds: domain/events.py), sharing its immutable leaves: what sealing replaces in place
    must not change the aggregate's own state. copy.deepcopy did the same at several times
    the cost (its memo, its dispatch per value)."""
    if isinstance(value, dict):
        return {key: copy_containers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_containers(item) for item in value]
    return value


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == SEALED_KEYS


def open_sealed(aead: AESGCM | None, value: dict[str, str]) -> str:
    """The clear value, or ERASED when the key is gone (or does not open it)."""
    if aead is None:
        return ERASED
    raw = b64decode(value["enc"])
    try:
        return aead.decrypt(raw[:12], raw[12:], value["key_id"].encode()).decode()
    except (InvalidTag, ValueError):
        return ERASED


def open_all(node: Any, key_for: Callable[[str], AESGCM | None]) -> Any:
    """Replace every sealed leaf anywhere in `node` (in place) by its clear value. (The
    mapper opens them as it parses JSON, pii/mapper.py; this walk serves other transcoders.)"""
    if isinstance(node, dict):
        for key, value in node.items():
            _open_at(node, key, value, key_for)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _open_at(node, index, value, key_for)
    return node


def _open_at(node: Any, at: Any, value: Any, key_for: Callable[[str], AESGCM | None]) -> None:
    if isinstance(value, dict) and value.keys() == SEALED_KEYS:
        node[at] = open_sealed(key_for(value["key_id"]), value)
    elif isinstance(value, dict | list):
        open_all(value, key_for)
