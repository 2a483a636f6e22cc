"""Which contact-conduct profile governs a case: its jurisdiction.

A case names its jurisdiction when it opens, or the derivation rule below decides it; the
rule is configuration (CasePolicy), read in this order, the first match wins:

1. the product (`jurisdiction_by_product`, e.g. a bank's US credit card product);
2. the borrower's country of residence (`borrower.country`, ISO 3166-1 alpha-2) in
   `jurisdiction_by_country` (US -> US-RegF, GB -> UK-CONC, CN -> CN);
3. the loan's currency in `jurisdiction_by_currency` (USD -> US-RegF, GBP -> UK-CONC);
4. `default_jurisdiction` (CN).

A borrower who moves changes it by its own event (JurisdictionChanged).
"""

from __future__ import annotations

from collections.abc import Mapping

JURISDICTIONS = ("CN", "US-RegF", "UK-CONC")
DEFAULT_JURISDICTION = "CN"
BY_COUNTRY: tuple[tuple[str, str], ...] = (("CN", "CN"), ("US", "US-RegF"), ("GB", "UK-CONC"))
BY_CURRENCY: tuple[tuple[str, str], ...] = (("USD", "US-RegF"), ("GBP", "UK-CONC"))


def derive_jurisdiction(
    *,
    product: str,
    currency: str,
    country: str | None,
    by_product: Mapping[str, str],
    by_country: Mapping[str, str],
    by_currency: Mapping[str, str],
    default: str,
) -> str:
    """The documented rule (module docstring): product, then country, then currency."""
    if product in by_product:
        return by_product[product]
    if country is not None and country in by_country:
        return by_country[country]
    if currency in by_currency:
        return by_currency[currency]
    return default
