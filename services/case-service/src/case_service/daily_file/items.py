"""One item of the daily file and the rule that checks it against its case.

`record_item` is the only place that turns an item into a call on the case: the bulk path
(bulk.py) and the command path (`as_command`, used when the bulk path hands a chunk back to
the command writer) both run it, so the domain's `record_missed_payment` stays the single
source of the rules.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from case_service.commands import Command
from case_service.domain import CollectionCase, InvalidCommand


class MissedInstallment(NamedTuple):
    """An installment the loan system reports unpaid; `currency`, when sent, must match.
    (A named tuple: built for each item by the route and again by a worker, it costs half
    of a frozen dataclass, and is as immutable.)"""

    case_id: UUID
    installment: int
    due_date: date
    amount: Decimal
    currency: str | None = None


def record_item(case: CollectionCase, item: MissedInstallment, now: datetime) -> None:
    """Apply the item to its case: raises a DomainError when the case's rules refuse it,
    records nothing when it was reported before with the same data."""
    if item.currency is not None and item.currency != case.currency:
        raise InvalidCommand(
            f"the case is in {case.currency}, not {item.currency}", field="currency"
        )
    case.record_missed_payment(
        installment=item.installment, due_date=item.due_date, amount=item.amount, now=now
    )


def as_command(item: MissedInstallment, now: datetime, correlation_id: str | None) -> Command:
    """The same item as a command for the command writer (one case at a time, with retries)."""

    def action(case: CollectionCase) -> None:
        record_item(case, item, now)

    return Command(item.case_id, action, correlation_id=correlation_id)


def packed(items: list[MissedInstallment]) -> list[Any]:
    """The items as plain values, to send to a worker process: pickling the dataclass with
    its UUID, date and Decimal cost several microseconds an item in the server. An item of
    other types than the endpoint's (a caller in process) travels as it is. A case's items
    come together (one id object, from the endpoint): its id's bytes are taken once."""
    rows: list[Any] = []
    case_id: object = None
    for i in items:
        if (
            type(i.case_id) is not UUID
            or type(i.installment) is not int
            or type(i.due_date) is not date
            or type(i.amount) is not Decimal
        ):
            rows.append(i)
            continue
        if i.case_id is not case_id:
            case_id, raw = i.case_id, i.case_id.bytes
        rows.append((raw, i.installment, i.due_date.toordinal(), str(i.amount), i.currency))
    return rows


def unpacked(rows: list[Any], ids: dict[bytes, UUID] | None = None) -> list[MissedInstallment]:
    """`packed` undone: the same items (a Decimal's text keeps its exact value and places).
    A file names each case several times (its installments, one after another) and repeats
    due dates and amounts: each distinct id, day and amount is built once and shared, as
    immutable values may be (a UUID from bytes alone cost a microsecond an item). `ids`
    keeps the ids between calls (a worker's cases come back file after file); it grows."""
    ids = {} if ids is None else ids
    days: dict[int, date] = {}
    amounts: dict[str, Decimal] = {}
    items = []
    for row in rows:
        if type(row) is not tuple:
            items.append(row)
            continue
        raw, installment, ordinal, text, currency = row
        case_id = ids.get(raw)
        if case_id is None:
            case_id = ids[raw] = UUID(bytes=raw)
        day = days.get(ordinal)
        if day is None:
            day = days[ordinal] = date.fromordinal(ordinal)
        amount = amounts.get(text)
        if amount is None:
            amount = amounts[text] = Decimal(text)
        items.append(MissedInstallment(case_id, installment, day, amount, currency))
    return items
