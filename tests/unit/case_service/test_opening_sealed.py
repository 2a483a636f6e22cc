"""Sealed leaves opened while an event's JSON is parsed: the same state as parsing it and then
opening every sealed leaf with `open_all`, and the same errors."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from case_service.domain.contact_events import ContactAttempted
from case_service.domain.events import PaymentMissed
from case_service.pii.fields import ERASED, open_all, seal
from case_service.pii.mapper import PersonalDataMapper
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import (
    MapperDeserialisationError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import get_topic

from .stored import case_transcoder, fresh_cipher

SUBJECT, OTHER, GONE, BROKEN = "a" * 32, "b" * 32, "c" * 32, "d" * 32


class Keys:
    """The subject keys' reading side: a key per subject, none for an erased one, and a
    lookup that fails (the key store unreachable)."""

    def __init__(self) -> None:
        self.keys = {
            SUBJECT: AESGCM(AESGCM.generate_key(256)),
            OTHER: AESGCM(AESGCM.generate_key(256)),
        }
        self.asked: list[str] = []

    def for_reading(self, subject_id: str) -> AESGCM | None:
        self.asked.append(subject_id)
        if subject_id == BROKEN:
            raise OperationalError("the key store is unreachable")
        return self.keys.get(subject_id)


def mapper(keys: Keys) -> PersonalDataMapper:
    m = PersonalDataMapper(case_transcoder(), None, fresh_cipher())
    m.keys = keys  # type: ignore[assignment]
    return m


def sealed(keys: Keys, subject: str, value: str) -> dict[str, str]:
    return seal(keys.keys.get(subject) or AESGCM(AESGCM.generate_key(256)), subject, value)


def stored(m: PersonalDataMapper, cls: type, state: dict[str, Any]) -> StoredEvent:
    """A stored record of `cls` whose state is `state` as given (leaves already sealed)."""
    plain = m.transcoder.encode(state)
    assert m.cipher is not None
    return StoredEvent(uuid4(), 3, get_topic(cls), m.cipher.encrypt(plain))


def opened_after_parsing(m: PersonalDataMapper, keys: Keys, record: StoredEvent) -> dict[str, Any]:
    """What the mapper gave before: the whole state parsed, then every sealed leaf opened."""
    assert m.cipher is not None
    state: dict[str, Any] = m.transcoder.decode(m.cipher.decrypt(record.state))
    return open_all(state, keys.for_reading)  # type: ignore[no-any-return]


def a_state(keys: Keys) -> dict[str, Any]:
    return {
        "timestamp": "2026-12-06T08:00:00+00:00",
        "contact_point": sealed(keys, SUBJECT, "+8613800000001"),
        "amount": Decimal("12.50"),
        "case": UUID(int=7),
        "notes": None,
        "nested": {
            "phones": [
                {"number": sealed(keys, OTHER, "+8613800000002"), "kind": "mobile"},
                sealed(keys, SUBJECT, "an item of a list"),
                [sealed(keys, OTHER, "deeper")],
            ],
            "erased": sealed(keys, GONE, "no key any more"),
            # Four keys, three of them a sealed leaf's: a plain object, left as it is.
            "lookalike": {"ref": SUBJECT, "enc": "x", "key_id": SUBJECT, "more": 1},
            "tagged": {"_type_": "decimal_str", "_data_": "1.00"},
        },
        "quoted": 'a "key_id" in a string, {"ref": 1}',
    }


def test_the_state_is_the_one_parsing_then_opening_gives() -> None:
    keys = Keys()
    m = mapper(keys)
    record = stored(m, ContactAttempted, a_state(keys))
    expected = opened_after_parsing(m, keys, copy.deepcopy(record))

    event = m.to_domain_event(record)

    state = dict(vars(event))
    assert state.pop("originator_id") == record.originator_id
    assert state.pop("originator_version") == 3
    assert state.pop("caller_line") is None  # the upcast to version 2 (none recorded)
    assert state == expected
    assert state["contact_point"] == "+8613800000001"
    assert state["nested"]["phones"][1] == "an item of a list"
    assert state["nested"]["phones"][2] == ["deeper"]
    assert state["nested"]["erased"] == ERASED
    assert state["nested"]["lookalike"]["more"] == 1
    assert state["nested"]["tagged"] == Decimal("1.00")


def test_a_class_without_personal_data_or_a_sealed_view_leaves_the_leaves_sealed() -> None:
    keys = Keys()
    m = mapper(keys)
    state = a_state(keys)
    leaf = state["contact_point"]

    plain_class = m.to_domain_event(stored(m, PaymentMissed, state))
    sealed_view = m.sealed_view().to_domain_event(stored(m, ContactAttempted, state))

    assert vars(plain_class)["contact_point"] == leaf
    assert vars(sealed_view)["contact_point"] == leaf
    assert keys.asked == []


def test_a_key_that_cannot_be_looked_up_raises_its_own_error() -> None:
    keys = Keys()
    m = mapper(keys)
    state = a_state(keys)
    state["nested"]["phones"][0]["number"] = {"ref": BROKEN, "enc": "AAAA", "key_id": BROKEN}

    with pytest.raises(OperationalError, match="unreachable"):
        m.to_domain_event(stored(m, ContactAttempted, state))


def test_a_damaged_state_is_still_a_deserialisation_error() -> None:
    keys = Keys()
    m = mapper(keys)
    assert m.cipher is not None
    record = StoredEvent(
        uuid4(), 1, get_topic(ContactAttempted), m.cipher.encrypt(b'{"contact_point": ')
    )

    with pytest.raises(MapperDeserialisationError):
        m.to_domain_event(record)
