"""The usual missed installment, recorded without the generic machinery (the fast path).

Nearly every item of a daily file is a new installment its case's rule accepts. For those,
the rule's own steps (`CollectionCase.record_missed_payment`, domain/payments.py) cost
about half of the daily file's Python per item: the policy and business day per call, the
arrears summed over every installment of the case per item, the library's `trigger_event`,
and then the generic mapper per event. Here, per chunk and case, what does not change
between a case's items is taken once (the business day, the limits, the balance, the
arrears, kept up to date as items add to them), and an item recorded here becomes:

- the same `PaymentMissed` event, applied to the case by its own `apply` (then the case's
  version and time, as the library's `mutate` sets them) and left in its pending events, as
  `trigger_event` does;
- its stored bytes built directly: the event's state in the library's JSON format (the
  same `{"_type_", "_data_"}` transcodings, in the event's attribute order) under the same
  cipher, what the application's mapper writes for this event.

What is taken once per case (`_Case`) may be kept between chunks and files (`Known`, one
per writer): a file names each case about once, so taken per chunk it was taken per item.
It is used again only for the very same case object at the same version on the same
business day: everything in it derives from the case's state at its version (which any
event applied to it raises, the fast path's own included, which keeps it up to date) and
from that day; a case read afresh is another object.

This module decides nothing a rule refuses: an item is taken here only when every check of
the rule passes on plain types (an int, a date, a Decimal) and nothing unusual is about
(the case open, the installment new, no other currency named). Any other item returns None
and goes through `record_item`, the rule itself, which gives its refusal or its answer.
tests/unit/case_service/test_daily_file_fast.py proves on generated cases and items that
both ways give the same answers, the same events, the same stored bytes and the same case.
The checks here mirror the rule's: a change to the rule (or to `record_item`) must be
mirrored here, and the same test file fails, naming this module, when their source changes.
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from arrears.business_date import business_date
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic

from case_service.daily_file.items import MissedInstallment
from case_service.daily_file.transcoder import REFUSED, LeanTranscoder, Transcodings
from case_service.domain import CollectionCase, InvalidCommand, checks, delinquency
from case_service.domain.events import PaymentMissed
from case_service.domain.money import minor_units
from case_service.domain.payments import MAX_INSTALLMENT_NUMBER
from case_service.persistence import stored_event

_TOPIC = get_topic(PaymentMissed)
# The event's attributes in the order its constructor sets them (its dataclass fields), as
# `vars(event)` lists them for the mapper; the first two are its identity, not its state.
_FIELDS = tuple(field.name for field in dataclasses.fields(PaymentMissed))
_STATE_FIELDS = _FIELDS[2:]
_STATE_KEYS = frozenset(_STATE_FIELDS)
# Named one by one (this fails on import if the event's fields change: review this module).
_ID, _VERSION, _TIMESTAMP, _INSTALLMENT, _DUE_DATE, _AMOUNT, _CURRENCY = _FIELDS
_ZERO = Decimal("0.00")
_TRANSCODED = frozenset({datetime, date, Decimal})  # the library's transcodings, not JSON's


@dataclass(slots=True)
class _Case:
    """What the rule reads of a case; valid at `version` on `today`."""

    version: int
    zone: str
    today: date
    oldest: date  # the earliest due date the rule accepts (checks.day's MAX_PAST)
    places: int
    unit: Decimal
    maximum: Decimal
    principal: Decimal
    outstanding: Decimal
    # On `today`, unquantized as delinquency.arrears_on sums it; quantized, the rule's
    # `case.arrears_on(today)`.
    arrears: Decimal


# Cases whose `_Case` is kept (a few hundred bytes each, beside a case of 20-25 kB); past it,
# the oldest half is dropped (warm.py keeps up to 20,000 cases a process).
KNOWN_LIMIT = 50_000


class Known:
    """Each case's `_Case`, kept between chunks: by the case object's id, with a weak
    reference that proves it is still that object (a case dropped is not kept alive)."""

    def __init__(self, limit: int = KNOWN_LIMIT) -> None:
        self._limit = limit
        self._held: dict[int, tuple[weakref.ref[CollectionCase], _Case]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def get(self, case: CollectionCase) -> _Case | None:
        held = self._held.get(id(case))
        return held[1] if held is not None and held[0]() is case else None

    def put(self, case: CollectionCase, known: _Case) -> None:
        held = self._held
        if len(held) >= self._limit:
            # The oldest half (insertion order); the keys copied first, in one step, since
            # two requests may prepare their chunks in one process.
            for key in list(held)[: len(held) // 2]:
                held.pop(key, None)
        held[id(case)] = (weakref.ref(case), known)


class FastMissedPayments:
    """One chunk's items, recorded through the fast path where it applies (`record`);
    `known`: what earlier chunks took of their cases (a new one for each chunk if None)."""

    def __init__(self, now: datetime, writer: Mapper[UUID], known: Known | None = None) -> None:
        try:
            self._moment: datetime | None = checks.now_utc(now)
        except InvalidCommand:
            self._moment = None  # every item goes to the rule, which refuses it
        # The direct encoding holds only for the mapper this path was written against: no
        # compressor, the bulk path's lean transcoder (transcoder.py: orjson, the library's
        # transcodings), this event class.
        transcoder = writer.transcoder
        library = getattr(transcoder, "_library", transcoder)
        self._encodes = (
            writer.compressor is None
            and isinstance(transcoder, LeanTranscoder)
            and isinstance(library, JSONTranscoder)
            and getattr(PaymentMissed, "class_version", 1) == 1
            and not PaymentMissed.personal_data
        )
        self._hook = library._encode_obj if isinstance(library, JSONTranscoder) else None
        self._cipher = writer.cipher
        # The state's JSON up to the installment's number: the same for every item.
        self._head = (
            b"{" + self._member(_TIMESTAMP, self._moment, first=True) + b","
            + orjson.dumps(_INSTALLMENT) + b":"
            if self._hook and self._moment
            else b""
        )  # fmt: skip
        self._days: dict[date, bytes] = {}
        self._numbers: dict[int, bytes] = {}
        self._today: dict[str, date] = {}
        self._cases = Known() if known is None else known
        self._amounts: dict[tuple[Decimal, str], bytes] = {}
        self._checked: dict[tuple[int, int, Decimal], tuple[Decimal, Decimal | None]] = {}

    def record(self, case: CollectionCase, item: MissedInstallment) -> StoredEvent | None:
        """The stored event of `item`, recorded on `case` (its event pending there, as the
        rule leaves it); None: not for this path, nothing done, the rule decides."""
        moment = self._moment
        if moment is None or not self._encodes:
            return None
        installment, due_date, amount = item.installment, item.due_date, item.amount
        if (
            type(installment) is not int
            or type(due_date) is not date
            or type(amount) is not Decimal
            or (item.currency is not None and item.currency != case.currency)
            or case.status != "open"
            or not 1 <= installment <= MAX_INSTALLMENT_NUMBER
            or str(installment) in case.installments
        ):
            return None
        known = self._case(case, moment)
        checked = self._checked.get((id(amount), known.places, known.maximum))
        if checked is None or checked[0] is not amount:
            checked = self._check(amount, known)
        if checked[1] is None:
            return None
        amount = checked[1]
        if (
            due_date < known.oldest
            or due_date > known.today
            or amount > known.principal
            or known.arrears.quantize(known.unit) + amount > known.outstanding
        ):
            return None
        case_id, version, currency = case.id, case.version + 1, case.currency
        event = object.__new__(PaymentMissed)
        state = {
            _ID: case_id,
            _VERSION: version,
            _TIMESTAMP: moment,
            _INSTALLMENT: installment,
            _DUE_DATE: due_date,
            _AMOUNT: amount,
            _CURRENCY: currency,
        }
        object.__setattr__(event, "__dict__", state)
        # What the library's `mutate` does once its identity checks pass (the event is built
        # here from the case's own id and next version): apply, then version and time.
        event.apply(case)
        case.version = version
        case.modified_on = moment
        case.pending_events.append(event)
        known.version = version
        known.arrears += amount - _ZERO  # the new installment is due and wholly unpaid
        return stored_event(
            case_id, version, _TOPIC, self._encoded(installment, due_date, amount, currency)
        )

    def _check(self, amount: Decimal, known: _Case) -> tuple[Decimal, Decimal | None]:
        """The amount's own checks for a case with these limits: finite, positive, at most
        the policy's maximum and with no more places than the currency has; then quantized
        to the currency (None: refused here). A file repeats its amounts, and items.unpacked
        shares each one's object: the answer is kept by the object (held, so its id stays
        its own) and the limits."""
        quantized = None
        if amount.is_finite() and 0 < amount <= known.maximum:
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and -exponent <= known.places:
                quantized = amount.quantize(known.unit)
        checked = self._checked[id(amount), known.places, known.maximum] = (amount, quantized)
        return checked

    def _case(self, case: CollectionCase, moment: datetime) -> _Case:
        # By the object (a chunk holds one per case), not its id: a UUID hashes in Python.
        known = self._cases.get(case)
        if (
            known is not None
            and known.version == case.version
            and known.today == self._day(known.zone, moment)
        ):
            return known
        policy = case.policy
        zone = policy.business_timezone
        today = self._day(zone, moment)
        places = minor_units(case.currency)
        known = _Case(
            version=case.version,
            zone=zone,
            today=today,
            oldest=today - checks.MAX_PAST,
            places=places,
            unit=Decimal(1).scaleb(-places),
            maximum=policy.max_amount,
            principal=case.principal,
            outstanding=case.outstanding_balance,
            arrears=delinquency.arrears_on(case.installments.values(), today),
        )
        self._cases.put(case, known)
        return known

    def _day(self, zone: str, moment: datetime) -> date:
        """The business day at the chunk's moment in `zone` (once per chunk and zone)."""
        today = self._today.get(zone)
        if today is None:
            today = self._today[zone] = business_date(moment, zone)
        return today

    def _encoded(self, installment: int, due_date: date, amount: Decimal, currency: str) -> bytes:
        """The mapper's stored state of the event: its state's JSON, as the library's
        transcoder writes it (orjson, compact, in the event's attribute order), under the
        cipher. Built from the JSON of its members, each encoded once per chunk: the
        timestamp (the chunk's), the due date, and the amount with its currency (quantized
        to the currency, an amount's text is fixed by its value and currency)."""
        day = self._days.get(due_date)
        if day is None:
            day = self._days[due_date] = self._member(_DUE_DATE, due_date, first=False)
        money = self._amounts.get((amount, currency))
        if money is None:
            money = self._amounts[amount, currency] = (
                self._member(_AMOUNT, amount, first=False)
                + self._member(_CURRENCY, currency, first=False)
                + b"}"
            )
        number = self._numbers.get(installment)
        if number is None:
            number = self._numbers[installment] = b"%d" % installment
        encoded = b"".join((self._head, number, day, money))
        return self._cipher.encrypt(encoded) if self._cipher else encoded

    def _member(self, name: str, value: object, *, first: bool) -> bytes:
        """`"name":value` as orjson writes it inside an object (with the library's
        transcoding of `value`), preceded by the comma of a member that is not the first."""
        hook = self._hook
        assert hook is not None
        if type(value) in _TRANSCODED:
            value = hook(value)
        return (b"" if first else b",") + orjson.dumps(name) + b":" + orjson.dumps(value)


# The transcodings a stored PaymentMissed holds (its timestamp, due date and amount).
_REPLAYED = frozenset({"datetime_iso", "date_iso", "decimal_str"})


class FastReplay:
    """The stored `PaymentMissed` events read back without the generic mapper: most events a
    warm case catches up on are missed installments. `event` gives what the reading
    mapper's `to_domain_event` gives for such a record (the same attributes, in the same
    order, decoded by the transcoder's own transcodings); None for anything else, which the
    mapper reads as ever (another event, an unexpected shape, a snapshot)."""

    def __init__(self, reader: Mapper[UUID]) -> None:
        self._transcodings = Transcodings(reader, _REPLAYED)
        self._cipher = reader.cipher
        self._on = (
            reader.compressor is None
            and isinstance(self._transcodings.library, JSONTranscoder)
            and self._transcodings.names == _REPLAYED
            and getattr(PaymentMissed, "class_version", 1) == 1
            and not PaymentMissed.personal_data
        )

    def event(self, record: StoredEvent) -> PaymentMissed | None:
        if not self._on or record.topic != _TOPIC or type(record.originator_id) is not UUID:
            return None
        try:  # anything damaged is left to the mapper, which says what and where
            plain = self._cipher.decrypt(record.state) if self._cipher else record.state
            stored = orjson.loads(plain)
        except ValueError:  # orjson.JSONDecodeError is one
            return None
        if type(stored) is not dict or stored.keys() != _STATE_KEYS:
            return None
        state: dict[str, Any] = {}
        decoded = self._transcodings.decoded
        for name, value in stored.items():
            if type(value) is dict:
                value = decoded(value)
                if value is REFUSED:
                    return None
            elif type(value) is float:  # none is stored; orjson's reading of a huge integer
                return None
            state[name] = value
        state["originator_id"] = record.originator_id
        state["originator_version"] = record.originator_version
        event = object.__new__(PaymentMissed)
        object.__setattr__(event, "__dict__", state)
        return event
