"""The CloudEvents 1.0 structured JSON envelope every Arrears topic carries (DESIGN §4).

A case event on `collections.case-events.v1` looks like::

    {"specversion": "1.0", "id": "<uuid5 of case id and version>",
     "source": "/arrears/case-service", "type": "collections.case.PaymentMissed",
     "subject": "<case id>", "time": "2026-11-02T09:00:00Z",
     "datacontenttype": "application/json",
     "dataschema": "https://schemas.arrears.example/events/collections.case.PaymentMissed.json",
     "sequence": 1234, "caseversion": 3, "classversion": 1,
     "correlationid": "…", "personaldata": "borrower",
     "data": {...}}

The `id` is derived from the case id and version, so a re-published event carries the same
id and consumers can drop it. `sequence` (the global notification id) and `caseversion` are
Integer extension attributes; `personaldata` names the data fields the catalogue marks as
personal (comma-separated; CloudEvents extension values cannot be lists).
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from operator import add, attrgetter, is_not, itemgetter, sub
from typing import Any

import orjson

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
DATA_CONTENT_TYPE = "application/json"
CASE_EVENTS_TOPIC = "collections.case-events.v1"
CONTACT_TASKS_TOPIC = "collections.contact-tasks.v1"
LEGAL_TASKS_TOPIC = "collections.legal-tasks.v1"
CASE_EVENT_TYPE_PREFIX = "collections.case."
CASE_SERVICE_SOURCE = "/arrears/case-service"
SCHEMA_BASE_URL = "https://schemas.arrears.example/events/"
# Namespace for event ids: uuid5(namespace, f"{case_id}/{version}").
EVENT_ID_NAMESPACE = uuid.UUID("6f1d2b8e-6a57-5b0c-9d0e-3c1a4f7e2b90")

REQUIRED = ("specversion", "id", "source", "type")
CONTEXT_ATTRIBUTES = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "sequence",
        "caseversion",
        "classversion",
        "correlationid",
        "personaldata",
    }
)


_NOT_EXTENSIONS = CONTEXT_ATTRIBUTES | {"data"}


class EnvelopeError(ValueError):
    """A message that is not a valid Arrears CloudEvent (the consumer parks it on the DLQ)."""


@dataclass(frozen=True)
class Envelope:
    """One CloudEvent. `extensions` holds any extension attributes beyond the known ones."""

    id: str
    source: str
    type: str
    data: Mapping[str, Any]
    subject: str | None = None
    time: datetime | None = None
    dataschema: str | None = None
    sequence: int | None = None
    caseversion: int | None = None
    classversion: int | None = None
    correlationid: str | None = None
    personaldata: tuple[str, ...] = ()
    datacontenttype: str = DATA_CONTENT_TYPE
    specversion: str = SPECVERSION
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event_name(self) -> str:
        """`collections.case.PaymentMissed` -> `PaymentMissed`."""
        return _event_name(self.type)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        if self.time is not None:
            out["time"] = format_time(self.time)
        out["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        for name in ("sequence", "caseversion", "classversion", "correlationid"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.personaldata:
            out["personaldata"] = ",".join(self.personaldata)
        out.update(self.extensions)
        out["data"] = dict(self.data)
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


@lru_cache(maxsize=1024)
def _event_name(event_type: str) -> str:
    """Cached: a consumer or a rebuild asks each envelope its name a few times, and there
    are few types (the split was 0.3 us each, a lookup here 0.05)."""
    return event_type.rsplit(".", 1)[-1]


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, microseconds kept."""
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_id(case_id: uuid.UUID | str, version: int) -> str:
    """The stable id of a case's event: the same event always gets the same id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{case_id}/{version}"))


def case_event_type(event_name: str) -> str:
    return CASE_EVENT_TYPE_PREFIX + event_name


def schema_url(event_type: str, base: str = SCHEMA_BASE_URL) -> str:
    return f"{base}{event_type}.json"


def case_event(
    *,
    case_id: uuid.UUID | str,
    version: int,
    sequence: int,
    event_name: str,
    occurred_at: datetime,
    data: Mapping[str, Any],
    class_version: int = 1,
    correlation_id: str | None = None,
    personal_data: Sequence[str] = (),
    source: str = CASE_SERVICE_SOURCE,
) -> Envelope:
    """The envelope of one case event, as the relay publishes it and the feed serves it."""
    event_type = case_event_type(event_name)
    return Envelope(
        id=event_id(case_id, version),
        source=source,
        type=event_type,
        subject=str(case_id),
        time=occurred_at,
        dataschema=schema_url(event_type),
        sequence=sequence,
        caseversion=version,
        classversion=class_version,
        correlationid=correlation_id,
        personaldata=tuple(personal_data),
        data=data,
    )


def _optional_int(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EnvelopeError(f"{name} must be an integer, got {value!r}")
    return value


def _optional_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise EnvelopeError(f"{name} must be a non-empty string")
    return value


def from_dict(raw: Any) -> Envelope:
    """Validate and parse a structured CloudEvent; raises EnvelopeError on anything off."""
    return _from_dict(raw, owned=False)


def _from_dict(raw: Any, *, owned: bool) -> Envelope:
    """`from_dict`; `owned`: `raw` was just parsed here and nothing else holds it, so the
    usual record's dict becomes the envelope's own instead of a copy."""
    if type(raw) is dict:
        envelope = _well_formed(raw, owned=owned)
        if envelope is not None:
            return envelope
    return _parse_carefully(raw)


_fromisoformat = datetime.fromisoformat


_TEXTS = ("subject", "time", "dataschema", "correlationid", "personaldata", "datacontenttype")
_INTS = ("sequence", "caseversion", "classversion")


def _well_formed(raw: dict[str, Any], *, owned: bool) -> Envelope | None:
    """The usual record in few operations: no extension attributes, and every attribute
    present of the exact type JSON gives it; None for anything else, which
    `_parse_carefully` then accepts or refuses with its reason. (Its checks, a helper call
    each, were half of a parse's time.) The record's dict, with `time` and `personaldata`
    parsed, is the envelope's: an attribute it lacks reads as the field's default (the
    class's), so building a dict of every field (a third of a parse) is skipped."""
    get = raw.get
    ident, source, kind, data = get("id"), get("source"), get("type"), get("data", {})
    subject, when, schema, correlation, personal, content = map(get, _TEXTS)
    sequence, version, class_version = map(get, _INTS)
    if not (
        get("specversion") == SPECVERSION
        and (type(ident) is str and ident)
        and (type(source) is str and source)
        and (type(kind) is str and kind)
        and type(data) is dict
        and (subject is None or (type(subject) is str and subject))
        and (when is None or (type(when) is str and when))
        and (schema is None or (type(schema) is str and schema))
        and (correlation is None or (type(correlation) is str and correlation))
        and (personal is None or (type(personal) is str and personal))
        and (content is None or (type(content) is str and content))
        and (sequence is None or type(sequence) is int)
        and (version is None or type(version) is int)
        and (class_version is None or type(class_version) is int)
        and _NOT_EXTENSIONS.issuperset(raw)  # in C, no set made
    ):
        return None
    try:
        moment = datetime.fromisoformat(when) if when is not None else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        return None
    fields = raw if owned else raw.copy()
    fields["time"] = moment
    fields["data"] = data
    fields["personaldata"] = tuple(personal.split(",")) if personal is not None else ()
    fields["datacontenttype"] = content or DATA_CONTENT_TYPE
    fields["extensions"] = {}
    return _checked(fields)


def _parse_carefully(raw: Any) -> Envelope:
    """`from_dict` attribute by attribute, naming the first thing off."""
    if not isinstance(raw, dict):
        raise EnvelopeError("a CloudEvent must be a JSON object")
    missing = [name for name in REQUIRED if not raw.get(name)]
    if missing:
        raise EnvelopeError(f"missing required attribute(s): {', '.join(missing)}")
    if raw["specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported specversion {raw['specversion']!r}")
    for name in ("id", "source", "type"):
        if not isinstance(raw[name], str):
            raise EnvelopeError(f"{name} must be a string")
    data = raw.get("data", {})
    if not isinstance(data, dict):
        raise EnvelopeError("data must be a JSON object")
    time_text = _optional_str(raw, "time")
    try:
        moment = datetime.fromisoformat(time_text) if time_text else None
    except ValueError:
        raise EnvelopeError(f"time is not RFC 3339: {time_text!r}") from None
    if moment is not None and moment.tzinfo is None:
        raise EnvelopeError("time must carry a UTC offset")
    personal = _optional_str(raw, "personaldata")
    return _checked(
        {
            "id": raw["id"],
            "source": raw["source"],
            "type": raw["type"],
            "data": data,
            "subject": _optional_str(raw, "subject"),
            "time": moment,
            "dataschema": _optional_str(raw, "dataschema"),
            "sequence": _optional_int(raw, "sequence"),
            "caseversion": _optional_int(raw, "caseversion"),
            "classversion": _optional_int(raw, "classversion"),
            "correlationid": _optional_str(raw, "correlationid"),
            "personaldata": tuple(personal.split(",")) if personal else (),
            "datacontenttype": _optional_str(raw, "datacontenttype") or DATA_CONTENT_TYPE,
            "specversion": SPECVERSION,
            "extensions": (
                {k: v for k, v in raw.items() if k not in _NOT_EXTENSIONS}
                if raw.keys() - _NOT_EXTENSIONS  # a set difference in C: usually empty
                else {}
            ),
        }
    )


def _checked(fields: dict[str, Any]) -> Envelope:
    """An Envelope of its fields, already checked (any left out read as their defaults).
    The frozen dataclass's `__init__` sets each field through `object.__setattr__`: two
    thirds of a parse's time, paid for every record a consumer or a rebuild reads. Giving
    the instance `fields` as its dict is the same object (equality, hashing and
    immutability come from the class), without copying them into a dict of its own."""
    envelope = _new(Envelope)
    _set(envelope, "__dict__", fields)
    return envelope


def with_data(envelope: Envelope, data: Mapping[str, Any]) -> Envelope:
    """`dataclasses.replace(envelope, data=data)` without the frozen `__init__`'s field by
    field setting (a consumer opening a case's personal fields makes one per such event)."""
    return _checked({**envelope.__dict__, "data": data})


_new = object.__new__
_set = object.__setattr__


def parse(value: bytes | str | None) -> Envelope:
    """Parse a Kafka record value (bytes of JSON) into an Envelope."""
    if value is None:
        raise EnvelopeError("empty message (tombstone)")
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON: {exc}") from None
    return _from_dict(raw, owned=True)


def from_parsed(raw: Any) -> Envelope:
    """`from_dict` of a record just parsed from JSON and held by nothing else (a feed
    page's): its dict becomes the envelope's own."""
    return _from_dict(raw, owned=True)


def from_parsed_all(raws: Iterable[Any]) -> list[Envelope]:
    """`from_parsed` of each record (a feed page's): a rebuild reads every event of the
    store so. A page of usual case events is checked and made column by column."""
    records = raws if type(raws) is list else list(raws)
    envelopes = _usual_page(records)
    if envelopes is None:
        return [_from_dict(raw, owned=True) for raw in records]
    return envelopes


_tzinfo = attrgetter("tzinfo")
_get = dict.get
_put = dict.__setitem__
# Every usual record's attributes, with the one type JSON gives each.
_ALWAYS_TYPED = (
    *((name, str) for name in ("specversion", "id", "source", "type", "subject", "time")),
    *((name, str) for name in ("datacontenttype", "dataschema")),
    *((name, int) for name in ("sequence", "caseversion", "classversion")),
    ("data", dict),
)
_NON_EMPTY = ("id", "source", "type", "subject", "datacontenttype", "dataschema")
_OPTIONAL = ("correlationid", "personaldata")
_TEXT_OR_NONE = frozenset({str, type(None)})


def _usual_page(raws: list[Any]) -> list[Envelope] | None:
    """`_usual` of every record of a page at once, or None unless every one is usual (no
    record is changed then). Each check is one C-level pass over the page (`map`, a set,
    containment) instead of a Python call per record."""
    n = len(raws)
    if not n or set(map(type, raws)) != {dict}:
        return None
    columns: dict[str, list[Any]] = {}
    try:
        for name, kind in _ALWAYS_TYPED:
            column = columns[name] = list(map(itemgetter(name), raws))
            if set(map(type, column)) != {kind}:
                return None
    except KeyError:
        return None
    for name in _OPTIONAL:
        column = columns[name] = list(map(_get, raws, repeat(name)))
        if not _TEXT_OR_NONE.issuperset(map(type, column)) or "" in column:
            return None
    # No extension attributes: each record holds the twelve and its optional ones, no more
    # (an optional one present as null counts too, and takes the careful path).
    optional = map(add, *(map(is_not, columns[name], repeat(None)) for name in _OPTIONAL))
    if set(map(sub, map(len, raws), optional)) != {len(_ALWAYS_TYPED)}:
        return None
    if any("" in columns[name] for name in _NON_EMPTY) or set(columns["specversion"]) != {
        SPECVERSION
    }:
        return None
    try:
        moments = list(map(_fromisoformat, columns["time"]))
    except ValueError:
        return None
    if None in set(map(_tzinfo, moments)):
        return None
    personals = columns["personaldata"]
    named = {p: tuple(p.split(",")) for p in set(personals) if p is not None}
    named[None] = ()
    deque(map(_put, raws, repeat("time"), moments), maxlen=0)
    deque(map(_put, raws, repeat("personaldata"), map(named.__getitem__, personals)), maxlen=0)
    deque(map(_put, raws, repeat("extensions"), map(dict, repeat((), n))), maxlen=0)
    envelopes = list(map(_new, repeat(Envelope, n)))
    deque(map(_set, envelopes, repeat("__dict__"), raws), maxlen=0)
    return envelopes


def kafka_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Headers of the Kafka structured binding, plus the correlation id for log tracing."""
    headers = [("content-type", CONTENT_TYPE.encode())]
    if envelope.correlationid:
        headers.append(("correlation-id", envelope.correlationid.encode()))
    return headers
