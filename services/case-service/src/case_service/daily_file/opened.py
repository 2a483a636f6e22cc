"""A stored CaseOpened read straight into its case: the daily file's cold read.

A bank's daily file names each case about once a month, so nearly every case it reads is
cold: rebuilt from its opening and the events after it. Through the reading mapper and the
library's `mutate`, the opening alone cost most of that: the standard JSON decoder with a
Python hook per object, the event's personal containers copied for the case to own
(`CaseOpened.apply`), the library's keyword filtering per aggregate. Here a record of the
usual shape becomes its case directly:

- its state decrypted and parsed with orjson, its transcoded values (the timestamp, the
  principal, a Decimal rule, a collateral's value) decoded by the transcoder's own
  transcodings, personal leaves left sealed as the daily file's reading mapper
  (`sealed_view`) leaves them, and upcast as the mapper does;
- the case built as the library's `Aggregate.Created.mutate` builds it (`__base_init__`,
  then the event's apply), the case taking the parsed containers themselves
  (`CaseOpened.open_with`): read for this case alone, they are shared with nothing.

Any other record (another topic, a snapshot, a unicode escape or a number of 19 digits or
more in its JSON, an unexpected field or type, anything damaged) gives None and is read by
the mapper, which gives the case or says what is wrong. tests/unit/case_service/test_daily_file_opened.py
proves on generated cases that both reads give the very same case.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
)
from eventsourcing.utils import get_topic

from case_service.daily_file.transcoder import REFUSED, Transcodings
from case_service.domain import CollectionCase
from case_service.domain.events import CaseOpened
from case_service.pii.mapper import SNAPSHOT_MAGIC, PersonalDataMapper

_TOPIC = get_topic(CaseOpened)
_CASE_TOPIC = get_topic(CollectionCase)
# The event's state as the mapper hands it to the event (its fields but its identity).
_STATE_KEYS = frozenset(field.name for field in dataclasses.fields(CaseOpened)) - {
    "originator_id",
    "originator_version",
}
_TRANSCODED = ("timestamp", "principal")  # a datetime and a Decimal: transcoded objects
# The fields that may hold other transcoded objects, most likely first: a Decimal rule, the
# collateral's value.
_NESTED = ("rules", "collateral", "borrower", "guarantors")
_TYPE_KEY = b'"_type_"'
# A number of 19 digits or more may be outside 64 bits, which orjson reads as a float where
# the library's decoder gives the int: such a record is left to the mapper. Found as a run
# of 19 "0"s once every digit is mapped to "0" and every other byte to ".": a C translate
# and substring search, a tenth of the CPU of the regex `[0-9]{19}` over a 2 kB state.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x2E for byte in range(256))
_LONG_RUN = b"0" * 19


class LeanOpened:
    """`case(record)`: the case a stored CaseOpened opens, as the mapper and the library's
    replay give it, or None (not of the usual shape: the mapper reads it)."""

    def __init__(self, reader: Mapper[UUID]) -> None:
        self._transcodings = Transcodings(reader)
        library = self._transcodings.library
        self._cipher = reader.cipher
        # Only for the mapper this was written against: the daily file's reading view, which
        # leaves personal leaves sealed, over the library's JSON transcoder, uncompressed.
        self._on = (
            isinstance(reader, PersonalDataMapper)
            and not (reader.open_personal and reader.keys is not None)
            and reader.compressor is None
            and isinstance(library, JSONTranscoder)
            # `mutate` calls the case's own `__init__` with no argument: it has none.
            and CollectionCase.__init__ is object.__init__
        )

    def case(self, record: StoredEvent) -> CollectionCase | None:
        if not self._on or record.topic != _TOPIC or type(record.originator_id) is not UUID:
            return None
        state = self._state(record)
        if state is None:
            return None
        case: CollectionCase = CollectionCase.__new__(CollectionCase)
        case.__base_init__(
            originator_id=record.originator_id,
            originator_version=record.originator_version,
            timestamp=state["timestamp"],
        )
        state["originator_id"] = record.originator_id
        state["originator_version"] = record.originator_version
        event = object.__new__(CaseOpened)
        object.__setattr__(event, "__dict__", state)
        event.open_with(case, state["borrower"], state["guarantors"], state["collateral"])
        return case

    def _state(self, record: StoredEvent) -> dict[str, Any] | None:
        """The event's state as the reading mapper decodes it (before its identity is
        added), or None."""
        try:  # anything damaged is left to the mapper, which says what and where
            plain = self._cipher.decrypt(record.state) if self._cipher else record.state
            if plain.startswith(SNAPSHOT_MAGIC) or b"\\u" in plain or _long_number(plain):
                return None
            state = orjson.loads(plain)
        except Exception:  # the cipher's errors, orjson.JSONDecodeError (a ValueError)
            return None
        if type(state) is not dict:
            return None
        # The library decodes every object with a "_type_" key. Each such key is written as
        # these very bytes (no JSON string holds them unescaped, and a key written another
        # way needs a \u escape, refused above): once as many objects are decoded here, the
        # rest of the state is plain JSON, as the mapper would give it.
        transcoded = plain.count(_TYPE_KEY)
        for name in _TRANSCODED:  # always a transcoded object: decoded as it is
            value = state[name] = self._transcodings.decoded(state.get(name))
            if value is REFUSED:
                return None
        found = [len(_TRANSCODED)]
        for name in _NESTED:  # where other transcoded objects may be, most likely first
            if found[0] == transcoded:
                break
            if name in state:
                value = state[name] = self._decoded(state[name], found)
                if value is REFUSED:
                    return None
        if found[0] != transcoded:
            return None
        # Then upcast, as the mapper does.
        from_version = state.pop("class_version", 1)
        if type(from_version) is not int or not 1 <= from_version <= CaseOpened.class_version:
            return None
        while from_version < CaseOpened.class_version:
            getattr(CaseOpened, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return state if state.keys() == _STATE_KEYS and _usual(state) else None

    def _decoded(self, value: Any, found: list[int]) -> Any:
        """`value` (fresh from JSON) with each transcoded object in it decoded by its
        transcoding, innermost first, as the library's hook does (counted in `found`);
        REFUSED for a "_type_" object the hook would not decode as it is (the mapper decodes
        it or says what is wrong)."""
        kind = type(value)
        if kind is list:
            for n, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    item = value[n] = self._decoded(item, found)
                    if item is REFUSED:
                        return REFUSED
            return value
        if kind is not dict:
            return value
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                item = value[key] = self._decoded(item, found)
                if item is REFUSED:
                    return REFUSED
        if "_type_" not in value:
            return value
        found[0] += 1
        return self._transcodings.decoded(value)


def _long_number(plain: bytes) -> bool:
    """Whether `plain` holds 19 digits in a row."""
    return _LONG_RUN in plain.translate(_DIGITS_AS_ZEROS)


def _usual(state: dict[str, Any]) -> bool:
    """The types `CaseOpened.apply` and the rules expect of an opening, as JSON gives them."""
    return (
        state["originator_topic"] == _CASE_TOPIC
        and type(state["timestamp"]) is datetime
        and type(state["principal"]) is Decimal
        and type(state["loan_id"]) is str
        and type(state["product"]) is str
        and type(state["currency"]) is str
        and type(state["jurisdiction"]) is str
        and type(state["borrower"]) is dict
        and type(state["guarantors"]) is list
        and (state["collateral"] is None or type(state["collateral"]) is dict)
        and type(state["rules"]) is dict
    )
