"""English and Simplified Chinese: gettext catalogues (Babel) and locale-aware formatting of
money, numbers and times (times in the zone given: the borrower's, or UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates, numbers
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue (English too: it words the services' codes for people)."""
    return Translations.load(str(LOCALES), [language], domain="messages")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@cache
def _babel_locale(language: str) -> Locale:
    # Parsed once: Babel would parse the identifier again on every value formatted.
    return Locale.parse("zh_Hans_CN" if language == "zh_CN" else "en_GB")


# A page shows the same amounts and days many times (a dashboard's lists): each is formatted
# once per language.
@lru_cache(maxsize=8192)
def _money(language: str, amount: str, currency: str | None) -> str:
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return amount
    locale = _babel_locale(language)
    if currency:
        return numbers.format_currency(value, currency, locale=locale)
    return numbers.format_decimal(value, format="#,##0.00", locale=locale)


@lru_cache(maxsize=8192)
def _day(language: str, day: date) -> str:
    return dates.format_date(day, "medium", locale=_babel_locale(language))


class Formatter:
    """What a template needs to show values in the user's language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = _babel_locale(language)
        self.gettext: Callable[[str], str] = translations(language).gettext

    def money(self, amount: Any, currency: str | None = None) -> str:
        if amount is None or amount == "":
            return "—"
        if isinstance(amount, dict):
            amount, currency = amount.get("amount"), amount.get("currency")
        return _money(self.language, str(amount), str(currency) if currency else None)

    def number(self, value: Any) -> str:
        if value is None:
            return "—"
        return numbers.format_decimal(value, locale=self.locale)

    def percent(self, ratio: Any) -> str:
        if ratio is None:
            return "—"
        return numbers.format_percent(Decimal(str(ratio)), "#,##0.0%", locale=self.locale)

    def when(self, value: Any, zone: str | None = None) -> str:
        """A moment in `zone` (default UTC), with the zone named."""
        moment = _instant(value)
        if moment is None:
            return "—" if value in (None, "") else str(value)
        local = moment.astimezone(_zone(zone))
        text = dates.format_datetime(local, "medium", locale=self.locale)
        return f"{text} {zone or 'UTC'}"

    def day(self, value: Any) -> str:
        if value in (None, ""):
            return "—"
        try:
            parsed = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
        return _day(self.language, parsed)

    def local_clock(self, now: datetime, zone: str | None) -> str:
        local = now.astimezone(_zone(zone))
        return dates.format_datetime(local, "EEE HH:mm", locale=self.locale)
