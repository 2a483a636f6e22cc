"""Stored rows of the notification log straight to the bytes the relay publishes.

The general path (`CaseEventEncoder.envelope`) builds the domain event through the library's
mapper and an `Envelope`, then serialises it: about 50 us of Python per event. This path
decrypts and decompresses with the mapper's own cipher and compressor, parses the stored
JSON with orjson, and turns the transcoder's tagged values (`{"_type_": ..., "_data_": ...}`)
into their JSON-ready form directly: what `event_payload(mapper.to_domain_event(...))` would
give, byte for byte (tests/unit/case_service/test_relay_wire.py checks every event class).
The envelope's bytes are written around each event's own values from a template made once
per event class, as orjson writes the Envelope's dict (tested on generated values). An event
of a class with plain fields, stored in that class's usual shape, is read in one regex match
and its data written from the matched text, without parsing it (`_shape`).

It declines (and the caller takes the general path for that one event) whenever it would
have to know more than it does: a stored `class_version` older than the class's (upcasting
needs the class's own functions), a tagged type it doesn't know, a transcoder of another
kind. Personal leaves are stored sealed and stay sealed: nothing here opens them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, get_type_hints
from uuid import UUID

import orjson
from arrears.messaging.envelope import (
    CONTENT_TYPE,
    DATA_CONTENT_TYPE,
    EVENT_ID_NAMESPACE,
    SPECVERSION,
    case_event_type,
    schema_url,
)
from arrears.messaging.producer import key_hash
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import resolve_topic

# (notification id, Kafka key, Kafka value, Kafka headers, key_hash(key) for the partitioner)
Record = tuple[int, bytes, bytes, list[tuple[str, bytes]], int]
# (notification id, case id as text, version, topic, stored state, correlation id or None)
Row = tuple[int, str, int, str, bytes, str | None]

_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())
_STREAM_FIELDS = ("timestamp", "originator_topic", "originator_id", "originator_version")


class Declined(Exception):
    """This event needs the general path."""


def _uuid_hex(data: Any) -> str:
    return str(UUID(data))


def _same(data: Any) -> Any:
    if not isinstance(data, str):
        raise Declined("tagged value with non-text data")
    return data


# What `to_json(transcoding.decode(data))` gives, for the transcodings case-service
# registers (the library's three and DateAsISO). Stored text is what `str(Decimal)` and
# `isoformat()` wrote, and both round-trip exactly, so the text itself is the answer.
_TAGGED: dict[str, Callable[[Any], Any]] = {
    "uuid_hex": _uuid_hex,
    "decimal_str": _same,
    "datetime_iso": _same,
    "date_iso": _same,
}


# What JSON leaves parse to: returned as they are, without a call per leaf (most of a
# stored event's values; the walk was the largest part of encoding one).
_LEAVES = frozenset({str, int, float, bool, type(None)})


def plain(node: Any) -> Any:
    """Transcoded JSON (as parsed) -> JSON-ready values, as the general path would give."""
    if isinstance(node, dict):
        if len(node) == 2 and "_type_" in node and "_data_" in node:
            convert = _TAGGED.get(node["_type_"])
            if convert is None:
                raise Declined(f"unknown transcoding {node['_type_']!r}")
            return convert(node["_data_"])
        return {str(k): v if type(v) in _LEAVES else plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [v if type(v) in _LEAVES else plain(v) for v in node]
    return node


# A class's usual stored shape, read in one match: what the library's encoder writes for an
# event whose fields are all of these types, the stream fields first (a timestamp in UTC, as
# `_UTC_ISO` takes it) and the mapper's `class_version` last. Each piece's text is what
# orjson writes for the value `decode` gives (whole numbers of up to 18 digits; text without
# escapes, which both encoders write as it is, non-ASCII included; the text-tagged values'
# own text), so the data's JSON is the pieces in the stored order: the same bytes without
# parsing and writing them again (half of an event's encoding). A state of any other shape
# (an escape, a float, a field of another type, an older class version) doesn't match and
# takes `decode`.
_TEXT = rb'"[^"\\]*"'
_PIECES: dict[Any, bytes] = {
    int: rb"(-?\d{1,18})",
    str: b"(" + _TEXT + b")",
    bool: rb"(true|false)",
    int | None: rb"(null|-?\d{1,18})",
    str | None: rb"(null|" + _TEXT + b")",
    bool | None: rb"(null|true|false)",
    **{
        kind: rb'\{"_type_":"' + tag + rb'","_data_":(' + _TEXT + rb")\}"
        for kind, tag in (
            (Decimal, b"decimal_str"),
            (date, b"date_iso"),
            (datetime, b"datetime_iso"),
        )
    },
}
_STAMP = (
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":'
    rb'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(?!000000)\d{6})?)\+00:00"\}'
)


def _shape(cls: type[Any], class_version: int) -> tuple[re.Pattern[bytes] | None, bytes]:
    """(the class's usual stored shape, the data's template for its pieces), or (None, b"")
    for a class with a field of another type, or that isn't a dataclass."""
    try:
        hints = get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
    except (TypeError, NameError):
        return None, b""
    if names[:3] != ["originator_id", "originator_version", "timestamp"]:
        return None, b""
    fields = names[3:]
    if any(hints.get(name) not in _PIECES for name in fields):
        return None, b""
    keys = [orjson.dumps(name) for name in fields]
    pattern = _STAMP + b"".join(
        b"," + re.escape(k + b":") + _PIECES[hints[n]] for k, n in zip(keys, fields, strict=True)
    )
    if class_version > 1:
        pattern += re.escape(b',"class_version":%d' % class_version)
    template = b"{" + b",".join(key + b":%s" for key in keys) + b"}"
    return re.compile(pattern + rb"\}"), template


class _Kind:
    """What the relay needs of one event class, resolved once per topic: the envelope's
    bytes around its per-event values, as orjson writes the envelope's dict (the members
    in that order; constants serialised once, `%` in them escaped for the template)."""

    __slots__ = ("class_version", "data", "head", "shape", "tail")

    def __init__(self, name: str, cls: type[Any], source: str) -> None:
        self.class_version = int(getattr(cls, "class_version", 1))
        event_type = case_event_type(name)
        personal = tuple(getattr(cls, "personal_data", ()))

        def const(value: str) -> str:
            return orjson.dumps(value).decode().replace("%", "%%")

        # The id, subject and time are ASCII without quotes or backslashes (hex digits, a
        # UUID's text, an RFC 3339 time), so they go between quotes as they are.
        self.head = (
            f'{{"specversion":{const(SPECVERSION)},"id":"%s","source":{const(source)},'
            f'"type":{const(event_type)},"subject":"%s","time":"%s",'
            f'"datacontenttype":{const(DATA_CONTENT_TYPE)},'
            f'"dataschema":{const(schema_url(event_type))},'
            f'"sequence":%d,"caseversion":%d,"classversion":{self.class_version}'
        )
        tail = b',"personaldata":' + orjson.dumps(",".join(personal)) if personal else b""
        self.tail = tail + b',"data":'
        self.shape, self.data = _shape(cls, self.class_version) if not personal else (None, b"")


_NAMESPACE = EVENT_ID_NAMESPACE.bytes

# The tagged values whose JSON form is their stored text (`_same`), unwrapped in the stored
# bytes by one regex pass before parsing, so the usual event needs no walk at all. A `{"`
# can't occur inside a JSON string (its quote would be escaped), so this matches only real
# two-member objects; anything else tagged (a UUID, an unknown type, escaped text) is left
# as it was and goes through `plain`.
_TEXT_TAGGED = re.compile(
    rb'\{"_type_":"(?:decimal_str|datetime_iso|date_iso)","_data_":("[^"\\]*")\}'
)
_TAG_KEY = b'"_type_"'


# Split keeps the one group: the pieces joined are what `sub(r"\1")` gives, without a Python
# call per match (a third less time than `sub` with a function).
_unwrap = _TEXT_TAGGED.split


def decode(state: bytes) -> dict[str, Any]:
    """Stored JSON -> a JSON-ready dict (the tagged values unwrapped)."""
    unwrapped = b"".join(_unwrap(state))
    try:
        decoded = orjson.loads(unwrapped)
    except orjson.JSONDecodeError as exc:
        raise Declined("not JSON") from exc
    if _TAG_KEY in unwrapped:
        decoded = plain(decoded)
    if not isinstance(decoded, dict):
        raise Declined("not an object")
    return decoded


# uuid5's variant bits (10xx) on the digest's 17th hex digit: its low two bits kept.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def event_id(subject: str, version: int) -> str:
    """`arrears.messaging.envelope.event_id` (uuid5), without building UUID objects: the
    SHA-1 digest's first 32 hex digits with the version digit (5) and the variant digit set
    in the text (a third less time than setting the bits in bytes first)."""
    h = hashlib.sha1(_NAMESPACE + f"{subject}/{version}".encode()).hexdigest()  # noqa: S324 (uuid5 is SHA-1 by definition)
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# What `isoformat()` writes for a UTC time (the library's stored timestamps): already the
# answer but for the suffix. Whole zero microseconds are never written (isoformat drops
# them), so ".000000" takes the general path, which would drop them too.
_UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(?!000000)\d{6})?\+00:00", re.ASCII)


def _time(value: Any) -> str:
    """`format_time(datetime.fromisoformat(...))`: RFC 3339 in UTC with a Z."""
    if type(value) is str and _UTC_ISO.fullmatch(value):
        return value[:-6] + "Z"
    if not isinstance(value, str):
        raise Declined("no timestamp")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise Declined("naive timestamp")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class WireEncoder:
    """Rows -> records, with `general(row)` for what this path declines."""

    def __init__(
        self,
        mapper: Mapper[UUID],
        name_of: Callable[[type[Any]], str],
        general: Callable[[Row], Record],
        source: str,
    ) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        self.usable = type(mapper.transcoder) is JSONTranscoder and set(
            getattr(mapper.transcoder, "names", {})
        ) <= set(_TAGGED)
        self.name_of = name_of
        self.general = general
        self.source = source
        self._kinds: dict[str, _Kind] = {}
        self.declined = 0

    def records(self, rows: Sequence[Row]) -> list[Record]:
        out = []
        for row in rows:
            try:
                if not self.usable:
                    raise Declined("transcoder")
                out.append(self.record(row))
            except Declined:
                self.declined += 1
                out.append(self.general(row))
        return out

    def _kind(self, topic: str) -> _Kind:
        kind = self._kinds.get(topic)
        if kind is None:
            cls = resolve_topic(topic)
            kind = self._kinds[topic] = _Kind(self.name_of(cls), cls, self.source)
        return kind

    def values(self, rows: Sequence[Row]) -> list[bytes]:
        """The envelopes' bytes alone (the feed's page): what `records` carries as values,
        without the Kafka key, headers and partition hash."""
        out = []
        for row in rows:
            try:
                if not self.usable:
                    raise Declined("transcoder")
                out.append(self._encode(row)[1])
            except Declined:
                self.declined += 1
                out.append(self.general(row)[2])
        return out

    def record(self, row: Row) -> Record:
        subject, value = self._encode(row)
        correlation = row[5]
        headers = [_CONTENT_TYPE]
        if correlation:
            headers.append(("correlation-id", correlation.encode()))
        key = subject.encode()
        return row[0], key, value, headers, key_hash(key)

    def _encode(self, row: Row) -> tuple[str, bytes]:
        """(the case id as text, the envelope's bytes)."""
        notification_id, subject, version, topic, stored, correlation = row
        kind = self._kind(topic)
        state = stored
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        shaped = kind.shape.fullmatch(state) if kind.shape is not None else None
        if shaped is not None:  # the class's usual stored shape: its values copied as they are
            pieces = shaped.groups()
            moment = pieces[0].decode() + "Z"
            data = kind.data % pieces[1:]
        else:
            decoded = decode(state)
            if decoded.pop("class_version", 1) != kind.class_version:
                raise Declined("upcast")  # the class's upcasters run on the general path
            moment = _time(decoded.get("timestamp"))
            for name in _STREAM_FIELDS:
                decoded.pop(name, None)
            data = orjson.dumps(decoded)
        head = kind.head % (event_id(subject, version), subject, moment, notification_id, version)
        correlated = b',"correlationid":' + orjson.dumps(correlation) if correlation else b""
        value = b"".join((head.encode(), correlated, kind.tail, data, b"}"))
        return subject, value
