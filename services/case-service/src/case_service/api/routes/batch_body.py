"""The daily file's body read without pydantic's per-item machinery, when it is plainly valid.

A file of 10,000 items spent as much of the server's CPU validating its body item by item
(pydantic's core calling each field's validator, a model per item) as checking the items
against their cases. `lean_body` runs before the route's model (a BeforeValidator on the
body): for a body whose every item is plainly what the model accepts, it calls the same
validator functions the model's fields carry (taken from the model itself), once per
distinct text for the dates, amounts, currencies and loan ids a file repeats, and hands
the route the model with the values the model would have produced. Anything else, however
small the doubt (a missing or extra key, another type, a refused value, an unusual case
id), it leaves untouched, and the model validates the body as before: every error keeps its
one format and field. tests/unit/case_service/test_daily_file_body.py holds the two ways
to the same values on generated bodies.

The body's JSON is parsed by orjson (`BodyRoute`), a third of the stdlib's time for a file;
a body orjson refuses is parsed again by the stdlib, which FastAPI's own handler would have
used, so it is read or refused exactly as before (same error, position and message). One
difference is left: orjson reads an integer beyond 64 bits as a float, where the stdlib gives
the int. The body's one integer, an item's installment, is refused either way, with the same
status and field ("a valid integer" rather than "less than or equal to"); every other value
of an item is a string, and a number there is refused whatever its kind.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, Protocol, cast
from uuid import UUID

import orjson
from annotated_types import Ge, Le, MaxLen, MinLen
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, Strict
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.responses import Response

from case_service.api.schemas import MissedPaymentBatch, MissedPaymentItem

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _metadata(field: FieldInfo) -> list[Any]:
    """A field's constraints and validators, those of the type inside `X | None` included."""
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        found += getattr(arg, "__metadata__", ())
        for inner in getattr(arg, "__metadata__", ()):
            if isinstance(inner, FieldInfo):
                found += inner.metadata
    return found


def _one(field: str, kind: type) -> Any:
    """The one constraint or validator of `kind` on the item's `field`: this module reads the
    model as it was written against; another shape fails here, on import."""
    found = [m for m in _metadata(MissedPaymentItem.model_fields[field]) if isinstance(m, kind)]
    if len(found) != 1:
        raise RuntimeError(f"MissedPaymentItem.{field} changed: review batch_body.py")
    return found[0]


def _validator(field: str) -> Callable[[Any], Any]:
    func: Callable[[Any], Any] = _one(field, BeforeValidator).func
    return func


_FIELDS = frozenset(MissedPaymentItem.model_fields)
if {"loan_id", "case_id", "installment", "due_date", "amount", "currency"} != _FIELDS:
    raise RuntimeError("MissedPaymentItem changed: review batch_body.py")
_one("installment", Strict)  # a JSON integer only (not a bool), as checked below
_LOW, _HIGH = _one("installment", Ge).ge, _one("installment", Le).le
_DUE_DATE, _AMOUNT = _validator("due_date"), _validator("amount")
_CURRENCY, _LOAN_ID = _validator("currency"), _validator("loan_id")
_LOAN_ID_MAX = _one("loan_id", MaxLen).max_length
_items_meta = MissedPaymentBatch.model_fields["items"].metadata
_MIN_ITEMS = next(m.min_length for m in _items_meta if isinstance(m, MinLen))
_MAX_ITEMS = next(m.max_length for m in _items_meta if isinstance(m, MaxLen))


class LeanItem:
    """An item as the model holds it: the attributes the route reads."""

    __slots__ = ("amount", "case_id", "currency", "due_date", "installment", "loan_id")

    def __init__(
        self,
        loan_id: str | None,
        case_id: UUID | None,
        installment: int,
        due_date: Any,
        amount: Any,
        currency: str | None,
    ) -> None:
        self.loan_id = loan_id
        self.case_id = case_id
        self.installment = installment
        self.due_date = due_date
        self.amount = amount
        self.currency = currency


def lean_body(value: Any) -> Any:
    """The body as the model, its items read here; or `value` untouched, for the model."""
    items = lean_items(value)
    if items is None:
        return value
    # The model's own class, so it is taken as validated; its items are the lean ones,
    # which hold the same attributes with the same values.
    return MissedPaymentBatch.model_construct(items=cast(Any, items))


class Beginning(Protocol):
    """Told the first `size` items of a larger body, read plainly valid so far, and the
    body's item count, while the rest is read (the route hands them to the workers)."""

    size: int

    def __call__(self, items: list[LeanItem], total: int) -> None: ...


# Set by the route for its request: `lean_items` runs inside the model's validation, where
# nothing else of the request reaches.
BEGINNING: ContextVar[Beginning | None] = ContextVar("daily_file_beginning", default=None)


def lean_items(value: Any) -> list[LeanItem] | None:
    """The body's items with the values the model gives them, or None: not plainly valid."""
    if type(value) is not dict or value.keys() != {"items"}:
        return None
    raw = value["items"]
    if type(raw) is not list or not _MIN_ITEMS <= len(raw) <= _MAX_ITEMS:
        return None
    beginning = BEGINNING.get()
    begin_at = beginning.size if beginning is not None and len(raw) > beginning.size else -1
    # A file repeats a few dates, amounts and currencies, and names a loan once per missed
    # installment: each text is validated once.
    days: dict[str, Any] = {}
    amounts: dict[str, Any] = {}
    currencies: dict[str, Any] = {}
    loans: dict[str, Any] = {}
    items = []
    try:
        for item in raw:
            if type(item) is not dict or not item.keys() <= _FIELDS:
                return None
            installment = item.get("installment")
            if type(installment) is not int or not _LOW <= installment <= _HIGH:
                return None
            due_date = _cached(days, item.get("due_date"), _DUE_DATE)
            amount = _cached(amounts, item.get("amount"), _AMOUNT)
            currency = item.get("currency")
            if currency is not None:
                currency = _cached(currencies, currency, _CURRENCY)
            loan_id = item.get("loan_id")
            if loan_id is not None:
                if type(loan_id) is not str or len(loan_id) > _LOAN_ID_MAX:
                    return None
                loan_id = _cached(loans, loan_id, _LOAN_ID)
            case_id = item.get("case_id")
            if case_id is not None:
                if type(case_id) is not str or not _UUID.fullmatch(case_id):
                    return None
                case_id = UUID(case_id)
            items.append(LeanItem(loan_id, case_id, installment, due_date, amount, currency))
            if len(items) == begin_at:
                cast(Beginning, beginning)(items[:], len(raw))
    except Exception:  # a validator refused a value (or doubt): the model says so, naming it
        return None
    return items


class _Doubt(Exception):
    """A value not plainly valid: the model reads the body."""


def _cached(seen: dict[str, Any], text: object, validate: Callable[[Any], Any]) -> Any:
    if type(text) is not str:
        raise _Doubt
    value = seen.get(text)
    if value is None:
        value = seen[text] = validate(text)
    return value


class _Request(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:  # NaN, infinities, lone surrogates, or no JSON
                self._json = json.loads(body)
        return self._json


class BodyRoute(APIRoute):
    """A route whose JSON body orjson parses (FastAPI's handler asks the request's `json`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_Request(request.scope, request.receive))

        return handle
