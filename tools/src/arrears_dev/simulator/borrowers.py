"""Who the simulated borrowers are: products, amounts, phones, and how each kind behaves.

The numbers are plausible rather than calibrated: roll rates of a consumer book where most
M1 arrears cure (people forgot the debit date), about half of M2 rolls on, and most of M3
becomes non-performing (DESIGN §2). Each profile scales the daily chance of paying.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# (product, share, principal range in yuan, terms in months, collateral kind)
PRODUCTS: tuple[tuple[str, float, tuple[int, int], tuple[int, ...], str | None], ...] = (
    ("consumer_loan", 0.50, (10_000, 200_000), (12, 24, 36), None),
    ("credit_card", 0.20, (5_000, 50_000), (12,), None),
    ("auto_loan", 0.20, (50_000, 300_000), (36, 60), "vehicle"),
    ("mortgage", 0.10, (300_000, 2_000_000), (240, 360), "real_estate"),
)


@dataclass(frozen=True)
class Profile:
    name: str
    share: float
    pay_factor: float  # multiplies the bucket's daily chance of paying
    reach: float  # chance a call reaches the borrower
    promise: float  # chance a reached borrower promises to pay
    keep: float  # chance a promise is kept
    redefault: float  # chance a cured loan misses a later installment again


PROFILES: tuple[Profile, ...] = (
    Profile("forgetful", 0.35, 2.5, 0.75, 0.6, 0.85, 0.10),
    Profile("struggling", 0.25, 0.8, 0.55, 0.5, 0.45, 0.35),
    Profile("promiser", 0.12, 1.0, 0.65, 0.9, 0.6, 0.25),
    Profile("unreachable", 0.10, 0.25, 0.03, 0.2, 0.3, 0.40),
    Profile("disputer", 0.06, 0.4, 0.6, 0.2, 0.5, 0.20),
    Profile("strategic", 0.12, 0.2, 0.4, 0.4, 0.1, 0.50),
)
PROFILE_BY_NAME = {p.name: p for p in PROFILES}

# Daily chance of paying by bucket, before the profile's factor: roughly 55% of M1 cures
# within its 30 days, a third of M2, a fifth of M3, and a few percent a month of M4+.
DAILY_PAY = {"M1": 0.026, "M2": 0.013, "M3": 0.0075, "M4+": 0.0012}
FULL_CURE_SHARE = 0.7  # a paying borrower clears all arrears; otherwise the oldest installment

SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Hui", "Tao", "Xin")
CITIES = ("Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu", "Wuhan")
STREETS = ("Renmin Road", "Jiefang Road", "Zhongshan Road", "Huaihai Road", "Nanjing Road")


def pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    roll = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll <= 0:
            return value
    return weighted[-1][0]


def draw_profile(rng: random.Random) -> Profile:
    chosen: Profile = pick(rng, tuple((p, p.share) for p in PROFILES))
    return chosen


def draw_product(rng: random.Random) -> tuple[str, int, int, str | None]:
    """(product, principal in fen, term in months, collateral kind)."""
    name, _, (low, high), terms, collateral = pick(rng, tuple((p, p[1]) for p in PRODUCTS))
    # Log-uniform amounts: many small loans, a few large ones; whole hundreds of yuan.
    principal = int(low * (high / low) ** rng.random()) // 100 * 100
    return name, principal * 100, rng.choice(terms), collateral


def phone(rng: random.Random) -> str:
    return f"+861{rng.choice('3578')}{rng.randrange(10**9):09d}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"


def borrower(rng: random.Random, loan_id: str) -> dict[str, Any]:
    phones = [
        {"number": phone(rng), "kind": "mobile", "owner": "borrower"},
        {"number": phone(rng), "kind": "home", "owner": "borrower"},
    ]
    if rng.random() < 0.7:
        phones.append({"number": phone(rng), "kind": "mobile", "owner": "spouse"})
    if rng.random() < 0.5:
        phones.append({"number": phone(rng), "kind": "work", "owner": "employer"})
    return {
        "id": f"B-{loan_id}",
        "name": person(rng),
        "timezone": "Asia/Shanghai",
        "address": f"{rng.randint(1, 999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
        "phones": phones,
    }


def money(fen: int) -> str:
    """Fen (hundredths) as a decimal string: money never travels as a float."""
    return f"{fen // 100}.{fen % 100:02d}"
