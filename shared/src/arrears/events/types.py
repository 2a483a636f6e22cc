"""The typed form of a case event's `data`, for consumers (the classes are in catalogue.py).

Each class is generated from the catalogue's JSON Schema (docs/schemas), so a consumer that
reads a renamed or retyped field fails type-checking, not production. `read` turns an
envelope's JSON data into one, checking every field the schema requires; fields it does not
know are ignored (schemas only ever gain optional fields within a major version).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self, TypeVar

T = TypeVar("T")


class EventDataError(ValueError):
    """The data does not have the shape its event's schema promises."""


class CaseEventData:
    """Base of the generated classes: `event_name` is the catalogue name (PaymentMissed)."""

    event_name: ClassVar[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        raise NotImplementedError

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Self:
        """The typed event, or EventDataError naming what is missing or malformed."""
        try:
            return cls.from_data(data)
        except KeyError as exc:
            raise EventDataError(f"{cls.event_name}: no {exc.args[0]!r}") from None
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise EventDataError(f"{cls.event_name}: {exc}") from None


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def decimal(value: Any) -> Decimal:
    """A decimal string (money is never a float)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"expected a decimal string, got {type(value).__name__}")
    return Decimal(str(value))


def day(value: Any) -> date:
    return date.fromisoformat(text(value))


def moment(value: Any) -> datetime:
    parsed = datetime.fromisoformat(text(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def obj(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def int_map(value: Any) -> Mapping[str, int]:
    return {str(key): integer(item) for key, item in obj(value).items()}


def objects(value: Any) -> tuple[Mapping[str, Any], ...]:
    return tuple(obj(item) for item in array(value))


def texts(value: Any) -> tuple[str, ...]:
    return tuple(text(item) for item in array(value))


def array(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return list(value)


def optional(convert: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else convert(value)
