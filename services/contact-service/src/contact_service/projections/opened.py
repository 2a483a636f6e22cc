"""CaseOpened as a new case's row takes it: the fields read without the typed class when the
data has the usual JSON shape (a rebuild opens one case in ten events, and the typed read
was a sixth of a new case's fold). `usual_opened` gives what `catalogue.CaseOpened.read`
gives of those fields, or None: the caller then reads the typed class, which gives the same
values or names what is wrong. tests/unit/contact_service/test_lean_opened.py holds the two
to each other over generated data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from arrears.events import catalogue as ev

# The sealed leaves of a CaseOpened that a new case's row reads (`Projection.opened_case`):
# the borrower's address, each phone's number (and an e-mail, were one sealed). The names
# (the borrower's, a guarantor's) and the collateral's description are never read here, so
# they stay sealed: contact-service opens only what it uses (each leaf opened is an AES-GCM
# decryption, and a guarantor's key fetched only for a name is not fetched at all).
OPENED_LEAVES = frozenset({"address", "email", "number"})


def leaves_read(event_name: str | None) -> frozenset[str] | None:
    """The names of the sealed values this service opens in such an event; None: all."""
    return OPENED_LEAVES if event_name == "CaseOpened" else None


class Opened(NamedTuple):
    borrower: Mapping[str, Any]
    guarantors: Sequence[Mapping[str, Any]]
    loan_id: str
    product: str
    currency: str
    principal: Decimal
    jurisdiction: str | None


def usual_opened(data: Mapping[str, Any]) -> Opened | None:
    """The fields as JSON holds them (objects as dicts, text as str, the principal a decimal
    string), every field the typed class checks checked; None for anything else."""
    try:
        borrower, guarantors = data["borrower"], data["guarantors"]
        collateral, rules = data["collateral"], data["rules"]
        loan_id, product, currency = data["loan_id"], data["product"], data["currency"]
        principal, jurisdiction = data["principal"], data.get("jurisdiction")
    except KeyError:
        return None
    if not (
        type(borrower) is dict
        and type(guarantors) is list
        and all(type(g) is dict for g in guarantors)
        and (collateral is None or type(collateral) is dict)
        and type(rules) is dict
        and type(loan_id) is str
        and type(product) is str
        and type(currency) is str
        and type(principal) is str
        and (jurisdiction is None or type(jurisdiction) is str)
    ):
        return None
    try:
        amount = Decimal(principal)
    except InvalidOperation:
        return None
    return Opened(borrower, guarantors, loan_id, product, currency, amount, jurisdiction)


def read_opened(data: Mapping[str, Any]) -> Opened:
    """`usual_opened`, else the typed read's values (EventDataError if it names a fault)."""
    usual = usual_opened(data)
    if usual is not None:
        return usual
    typed = ev.CaseOpened.read(data)
    return Opened(
        typed.borrower,
        typed.guarantors,
        typed.loan_id,
        typed.product,
        typed.currency,
        typed.principal,
        typed.jurisdiction,
    )
