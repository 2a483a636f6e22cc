"""Properties of arrears.input's strict types and of the token claims (issue 15), with
hypothesis: what is outside each grammar is refused, what is inside comes back unchanged."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

import jwt
import pytest
from arrears.auth import (
    EMBEDDED_AUDIENCE,
    EMBEDDED_ISSUER,
    ROLES,
    InvalidToken,
    TokenVerifier,
    roles_claim,
)
from arrears.input import (
    BusinessDate,
    Count,
    Identifier,
    Instant,
    Money,
    MoneyOrZero,
    Note,
    Position,
    SignedMoney,
    Text,
    check_text,
    check_zone,
    currency_exponent,
    parse_amount,
    parse_date,
    parse_instant,
)
from arrears.input.numbers import BIGINT_MAX
from arrears.input.times import SANE_FROM, SANE_UNTIL
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

SECRET = "unit-test-secret-long-enough-for-hs256-signatures"
CURRENCIES = ["CNY", "USD", "JPY", "KWD", "EUR", "CLF"]
_CONTROL = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]


def grammar(exponent: int, negative: bool = False) -> str:
    fraction = rf"(\.[0-9]{{1,{exponent}}})?" if exponent else ""
    return rf"{'-?' if negative else ''}[0-9]{{1,15}}{fraction}"


class Amounts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    money: Money | None = None
    or_zero: MoneyOrZero | None = None
    signed: SignedMoney | None = None


class Texts(BaseModel):
    text: Text | None = None
    note: Note | None = None
    identifier: Identifier | None = None


class Times(BaseModel):
    at: Instant | None = None
    on: BusinessDate | None = None


class Numbers(BaseModel):
    count: Count | None = None
    position: Position | None = None


# --- money -----------------------------------------------------------------------------


@given(value=st.text(max_size=30), currency=st.sampled_from(CURRENCIES))
def test_any_string_outside_the_money_grammar_is_refused(value: str, currency: str) -> None:
    inside = re.fullmatch(grammar(currency_exponent(currency)), value)
    if inside and Decimal(value) != 0:
        assert parse_amount(value, currency) == Decimal(value)
    else:
        with pytest.raises(ValueError, match=r"must|decimal places"):
            parse_amount(value, currency)


@pytest.mark.parametrize(
    "value", ["1e5", " 10.00 ", "１０.00", "1_000.00", "+1", "10.", ".5", "0x10", "NaN", "Infinity"]
)
def test_the_issues_loose_money_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        Amounts(money=value)  # type: ignore[arg-type]


def canonical(text: str) -> str:
    """The amount as Decimal prints it: no leading zeros; the sign and decimals as sent."""
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    whole = whole.lstrip("0") or "0"
    return sign + (f"{whole}.{fraction}" if fraction else whole)


@given(data=st.data(), currency=st.sampled_from(CURRENCIES))
def test_a_money_string_inside_the_grammar_round_trips_exactly(
    data: st.DataObject, currency: str
) -> None:
    text = data.draw(
        st.from_regex(grammar(currency_exponent(currency), True), fullmatch=True).filter(
            lambda t: not (t.startswith("-") and Decimal(t) == 0)  # a signed zero is refused
        )
    )
    parsed = Amounts.model_validate_json(f'{{"signed": "{text}"}}')
    assert parsed.signed == Decimal(text)
    assert parsed.model_dump(mode="json")["signed"] == canonical(text)
    assert parse_amount(text, currency, negative=True, zero=True) == Decimal(text)


@given(
    value=st.one_of(
        st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
    )
)
def test_money_is_never_a_json_number_or_anything_but_a_string(value: Any) -> None:
    with pytest.raises(ValueError, match=r"must|decimal places"):
        parse_amount(value)


@given(currency=st.sampled_from(CURRENCIES), extra=st.integers(1, 3))
def test_more_decimals_than_the_currencys_minor_unit_are_refused(currency: str, extra: int) -> None:
    decimals = currency_exponent(currency) + extra
    with pytest.raises(ValueError, match=r"must|decimal places"):
        parse_amount("1." + "5" * decimals, currency)


@pytest.mark.parametrize(("currency", "exponent"), [("CNY", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_the_minor_unit_comes_from_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@given(code=st.text(max_size=5))
def test_a_currency_is_a_real_iso_4217_code_with_a_minor_unit(code: str) -> None:
    if code in ("XXX", "XAU", "XDR") or not re.fullmatch("[A-Z]{3}", code):
        with pytest.raises(ValueError, match="ISO 4217"):
            currency_exponent(code)


@given(value=st.from_regex(r"[1-9][0-9]{0,5}(\.[0-9]{1,2})?", fullmatch=True))
def test_a_negative_amount_only_where_the_field_allows_it(value: str) -> None:
    assert Amounts(signed="-" + value).signed == -Decimal(value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Amounts(money="-" + value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Amounts(or_zero="-" + value)  # type: ignore[arg-type]


# --- times and dates -------------------------------------------------------------------


@given(
    moment=st.datetimes(datetime(1970, 1, 3), datetime(2199, 12, 29), timezones=st.just(UTC)),
    minutes=st.integers(-(23 * 60 + 59), 23 * 60 + 59),
    precision=st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)
def test_an_instant_with_any_offset_is_the_same_utc_moment(
    moment: datetime, minutes: int, precision: str
) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    text = local.isoformat(timespec=precision)
    parsed = parse_instant(text)
    assert parsed.tzinfo is UTC
    expected = datetime.fromisoformat(text).astimezone(UTC)
    assert parsed == expected
    assert Times.model_validate_json(f'{{"at": "{text}"}}').at == expected


@given(
    moment=st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC)),
    minutes=st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)
def test_an_instant_outside_the_sane_range_is_refused_never_an_error(
    moment: datetime, minutes: int
) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    text = local.isoformat()
    if SANE_FROM <= moment.date() < SANE_UNTIL:
        assert parse_instant(text) == moment
    else:
        with pytest.raises(ValueError, match=r"must|not a valid"):
            parse_instant(text)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00.0+00:01",
        "9999-12-31T23:59:59-23:59",
        "2026-10-01T09:30:00",
        "2026-10-01 09:30:00Z",
        "2026-10-01",
        "2026-02-30T09:30:00Z",
        "2026-10-01T24:00:00Z",
        "2026-10-01T09:30:00+25:00",
        "２０２６-10-01T09:30:00Z",
        1796000000,
        True,
        None,
    ],
)
def test_what_is_not_an_rfc_3339_instant_with_an_offset_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match=r"must|not a valid"):
        parse_instant(value)


@given(day=st.dates(date(1, 1, 1), date(9999, 12, 31)))
def test_a_business_date_lies_in_the_sane_range(day: date) -> None:
    if SANE_FROM <= day < SANE_UNTIL:
        assert parse_date(day.isoformat()) == day
    else:
        with pytest.raises(ValueError, match=r"must|not a valid"):
            parse_date(day.isoformat())


@given(value=st.one_of(st.integers(), st.booleans(), st.text(max_size=12)))
def test_a_date_is_only_yyyy_mm_dd(value: Any) -> None:
    if isinstance(value, str) and re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return  # the grammar: tested above
    with pytest.raises(ValueError, match=r"must|not a valid"):
        parse_date(value)


# --- texts -----------------------------------------------------------------------------


@given(before=st.text(max_size=20), control=st.sampled_from(_CONTROL), after=st.text(max_size=20))
def test_no_control_character_survives_text(before: str, control: str, after: str) -> None:
    with pytest.raises(ValidationError):
        Texts(text=before + "x" + control + after)
    with pytest.raises(ValidationError):
        Texts(identifier="A" + control)
    if control not in "\n\t":
        with pytest.raises(ValidationError):
            Texts(note=before + "x" + control + after)


@given(
    value=st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=60,
    ).filter(str.strip)
)
def test_a_text_without_control_characters_comes_back_unchanged(value: str) -> None:
    assert Texts(text=value).text == value
    assert Texts(note=value + "\n\tmore").note == value + "\n\tmore"


def test_every_text_has_a_maximum_length() -> None:
    assert Texts(text="x" * 500).text
    for field, length in (("text", 501), ("note", 4001), ("identifier", 101)):
        with pytest.raises(ValidationError):
            Texts(**{field: "x" * length})


@given(value=st.one_of(st.integers(), st.booleans(), st.floats(), st.just("   ")))
def test_a_text_is_a_non_blank_string(value: Any) -> None:
    with pytest.raises(ValidationError):
        Texts(text=value)


# --- time zones ------------------------------------------------------------------------

_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
            "Europe", "Indian", "Pacific")  # fmt: skip


@settings(max_examples=200)
@given(name=st.sampled_from(sorted(available_timezones())))
def test_a_zone_is_an_iana_region_zone(name: str) -> None:
    if "/" in name and name.split("/", 1)[0] in _REGIONS:
        assert check_zone(name) == name
    else:
        with pytest.raises(ValueError, match="IANA region"):
            check_zone(name)


@pytest.mark.parametrize("name", ["localtime", "UTC", "Etc/GMT+8", "PRC", "asia/shanghai", "", 8])
def test_not_a_region_zone_is_refused(name: Any) -> None:
    with pytest.raises(ValueError, match="IANA region"):
        check_zone(name)


# --- integers --------------------------------------------------------------------------


@given(value=st.integers())
def test_integers_are_bounded_to_what_postgres_holds(value: int) -> None:
    if 0 <= value <= BIGINT_MAX:
        assert Numbers(position=value).position == value
    else:
        with pytest.raises(ValidationError):
            Numbers(position=value)


@pytest.mark.parametrize("value", [True, False, 1.5, "1", None])
def test_a_count_is_a_json_integer_not_a_boolean(value: Any) -> None:
    if value is None:
        assert Numbers(count=None).count is None
        return
    with pytest.raises(ValidationError):
        Numbers(count=value)


# --- tokens ----------------------------------------------------------------------------


@given(
    roles=st.one_of(
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.text(),
        st.dictionaries(st.sampled_from(sorted(ROLES)), st.booleans()),
        st.tuples(st.sampled_from(sorted(ROLES))),
    )
)
def test_roles_of_any_non_list_type_are_refused(roles: Any) -> None:
    with pytest.raises(InvalidToken):
        roles_claim(roles)


@given(
    known=st.lists(st.sampled_from(sorted(ROLES)), max_size=3),
    unknown=st.one_of(st.text().filter(lambda r: r not in ROLES), st.integers(), st.none()),
)
def test_a_roles_list_naming_anything_unknown_is_refused(known: list[str], unknown: Any) -> None:
    with pytest.raises(InvalidToken):
        roles_claim([*known, unknown])


@given(roles=st.lists(st.sampled_from(sorted(ROLES)), min_size=1, max_size=4))
def test_a_list_of_known_roles_is_granted_as_is(roles: list[str]) -> None:
    assert roles_claim(roles) == frozenset(roles)


def _token(**claims: Any) -> str:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "agent-1",
        "roles": ["collector"],
        "iat": now,
        "exp": now + timedelta(hours=1),
        "iss": EMBEDDED_ISSUER,
        "aud": EMBEDDED_AUDIENCE,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET)


@settings(max_examples=30)
@given(issuer=st.text(max_size=30).filter(lambda i: i != EMBEDDED_ISSUER))
def test_a_token_from_another_issuer_is_refused(issuer: str) -> None:
    with pytest.raises((jwt.PyJWTError, InvalidToken)):
        TokenVerifier(secret=SECRET).verify(_token(iss=issuer))


@settings(max_examples=30)
@given(hours=st.integers(25, 24 * 365 * 80))
def test_a_token_living_longer_than_a_day_is_refused(hours: int) -> None:
    now = datetime.now(UTC)
    with pytest.raises(InvalidToken):
        TokenVerifier(secret=SECRET).verify(_token(iat=now, exp=now + timedelta(hours=hours)))


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "iat", "exp"])
def test_a_token_without_a_required_claim_is_refused(missing: str) -> None:
    with pytest.raises((jwt.PyJWTError, InvalidToken)):
        TokenVerifier(secret=SECRET).verify(_token(**{missing: None}))


def test_a_token_as_the_embedded_provider_issues_it_is_accepted() -> None:
    principal = TokenVerifier(secret=SECRET).verify(_token(roles=["legal", "auditor"]))
    assert principal.roles == frozenset({"legal", "auditor"})


@pytest.mark.parametrize(
    "text",
    [
        "Chao\u2028yang",
        "Chao\u2029yang",
        "abc\u202edcba",
        "x\u2066y\u2069",
        "a\u200bb",
        "\ufeffname",
    ],
)
def test_text_that_reads_other_than_it_is_stored_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bidirectional"):
        check_text(text, max_length=100, multiline=True)


def test_joiners_that_scripts_and_emoji_need_are_kept() -> None:
    assert check_text("👩\u200d💻 and क्\u200dष", max_length=100) == "👩\u200d💻 and क्\u200dष"


@pytest.mark.parametrize("amount", ["-0", "-0.00", "-0.0000"])
def test_a_zero_amount_has_no_sign(amount: str) -> None:
    with pytest.raises(ValueError, match="no sign"):
        parse_amount(amount, negative=True, zero=True)
