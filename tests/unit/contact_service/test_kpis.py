"""KPI arithmetic (pure): roll-rate matrix, rates by arm, periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contact_service.api.routes.kpis import periods, summarise


def test_rates_by_arm() -> None:
    raw = {
        "moves": [
            {"arm": "champion", "strategy": "s", "from_bucket": "M1", "to_bucket": "M2", "n": 3},
            {"arm": "champion", "strategy": "s", "from_bucket": "M1", "to_bucket": "M0", "n": 1},
            {"arm": "challenger", "strategy": "c", "from_bucket": "M1", "to_bucket": "M0", "n": 2},
        ],
        "closures": [{"arm": "champion", "strategy": "s", "reason": "cured", "n": 2}],
        "recovered": [{"arm": "champion", "strategy": "s", "total": Decimal("5000.00")}],
        "promises": [
            {"arm": "champion", "strategy": "s", "status": "kept", "n": 3},
            {"arm": "champion", "strategy": "s", "status": "broken", "n": 1},
        ],
        "attempts": [{"arm": "champion", "strategy": "s", "n": 20, "rpc": 5}],
        "cases": [
            {"arm": "champion", "strategy": "s", "n": 10},
            {"arm": "challenger", "strategy": "c", "n": 4},
        ],
    }
    out = summarise(raw)
    champion = out["champion"]
    assert champion["roll_rates"]["M1"]["M2"] == {"count": 3, "rate": "0.7500"}
    assert champion["roll_rates"]["M1"]["M0"] == {"count": 1, "rate": "0.2500"}
    assert champion["cure_rate"] == "0.2000"
    assert champion["promise_kept_rate"] == "0.7500"
    assert champion["right_party_contact_rate"] == "0.2500"
    assert champion["recovered"] == "5000.00"
    assert champion["contacts_per_recovered_1000"] == "4.0000"
    assert out["challenger"]["roll_rates"]["M1"]["M0"]["rate"] == "1.0000"
    assert out["challenger"]["promise_kept_rate"] is None  # no promise resolved


def test_periods_cut_days_weeks_and_months() -> None:
    start, end = date(2026, 10, 28), date(2026, 11, 10)
    assert periods(start, end, None) == [(start, end)]
    assert len(periods(start, end, "day")) == 13
    assert periods(start, end, "week") == [
        (date(2026, 10, 28), date(2026, 11, 2)),
        (date(2026, 11, 2), date(2026, 11, 9)),
        (date(2026, 11, 9), date(2026, 11, 10)),
    ]
    assert periods(start, end, "month") == [
        (date(2026, 10, 28), date(2026, 11, 1)),
        (date(2026, 11, 1), date(2026, 11, 10)),
    ]
