"""A lean encoder for the events the daily file records, in the library's JSON format.

The library's `JSONTranscoder` runs the standard `json` encoder with a Python hook per
Decimal, date and datetime. For an event whose state holds only scalars (PaymentMissed:
timestamp, installment, due date, amount, currency) this encodes with orjson instead,
sending those types through the application's own transcodings, so the bytes decode with
the library's decoder exactly as its own output does (`{"_type_": name, "_data_": ...}`).
Anything else (a nested value, a UUID, which orjson would write as a bare string) goes to
the library's encoder unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoder

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
