"""The daily file's lean encoding and decoding of events, in the library's JSON format.

The library's `JSONTranscoder` runs the standard `json` encoder with a Python hook per
Decimal, date and datetime. For an event whose state holds only scalars (PaymentMissed:
timestamp, installment, due date, amount, currency) this encodes with orjson instead,
sending those types through the application's own transcodings, so the bytes decode with
the library's decoder exactly as its own output does (`{"_type_": name, "_data_": ...}`).
Anything else (a nested value, a UUID, which orjson would write as a bare string) goes to
the library's encoder unchanged.

The lean readers (fast.py's `FastReplay`, opened.py's `LeanOpened`) decode each transcoded
object (`{"_type_": name, "_data_": text}`) found in a state orjson parsed with
`Transcodings`, as the library's hook would, or refuse it (the mapper then reads the record
and says what is wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoder,
)

from case_service.persistence import DateAsISO

_LEAN = frozenset({str, int, bool, type(None), Decimal, date, datetime})
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


class LeanTranscoder(Transcoder):
    def __init__(self, library: JSONTranscoder) -> None:
        self._library = library
        self._hook = library._encode_obj

    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict and all(type(v) in _LEAN for v in obj.values()):
            return orjson.dumps(obj, default=self._hook, option=_OPTIONS)
        return self._library.encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._library.decode(data)


REFUSED = object()  # a transcoded object the library's hook would not decode as it is
# The transcodings' own decoding of a str, without their Python frame (called only with a
# str: what their `decode` asserts or passes on).
_DIRECT: dict[type, Callable[[str], object]] = {
    DatetimeAsISO: datetime.fromisoformat,
    DateAsISO: date.fromisoformat,
    DecimalAsStr: Decimal,
}


class Transcodings:
    """The reading mapper's transcodings (those `names` names, or all), each decoding a
    transcoded object as the library's hook does; `decoded` gives REFUSED for anything else."""

    def __init__(self, reader: Mapper[UUID], names: Iterable[str] | None = None) -> None:
        transcoder = reader.transcoder
        self.library = getattr(transcoder, "_library", transcoder)
        found = getattr(self.library, "names", {})
        self._decoders: dict[str, Callable[[Any], object]] = {
            name: _DIRECT.get(type(transcoding), transcoding.decode)
            for name, transcoding in found.items()
            if names is None or name in names
        }
        self.names = frozenset(self._decoders)

    def decoded(self, value: object) -> object:
        """`value`, a transcoded object, decoded by its transcoding; REFUSED for any other."""
        if type(value) is not dict or len(value) != 2:
            return REFUSED
        name, data = value.get("_type_"), value.get("_data_")
        if type(name) is not str or type(data) is not str or name not in self._decoders:
            return REFUSED
        try:
            return self._decoders[name](data)
        except (ValueError, ArithmeticError, AssertionError):  # Decimal's is an ArithmeticError
            return REFUSED
