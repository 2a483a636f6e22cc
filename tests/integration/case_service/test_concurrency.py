"""Many clients writing to one case at once lose nothing and break no invariant."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from .conftest import auth


def test_fifty_clients_paying_one_case_at_once_lose_no_update(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1000.00")

    def pay(n: int) -> int:
        response = client.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "10.00", "paid_at": "2026-11-02T08:00:00Z", "reference": f"P-{n}"},
            headers=auth("origination", **{"Idempotency-Key": f"k-{n}"}),
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(pay, range(50)))

    assert statuses == [201] * 50
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert Decimal(case["arrears"]) == Decimal("500.00")
    assert case["version"] == 2 + 50
    history = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()["events"]
    assert [e["version"] for e in history] == list(range(1, 53))


def test_racing_if_match_writers_get_one_winner_and_412s(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1000.00")

    def pay(n: int) -> int:
        response = client.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "10.00", "paid_at": "2026-11-02T08:00:00Z", "reference": f"R-{n}"},
            headers=auth("origination", **{"If-Match": '"2"'}),
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(pay, range(20)))

    assert statuses == [201] + [412] * 19
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["arrears"] == "990.00"


def test_overpaying_concurrently_never_drives_arrears_negative(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case(principal="1000.00")
    missed(case_id, 1, "2026-10-01", "100.00")

    def pay(n: int) -> int:
        response = client.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "300.00", "paid_at": "2026-11-02T08:00:00Z", "reference": f"O-{n}"},
            headers=auth("origination"),
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(pay, range(10)))

    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert Decimal(case["arrears"]) >= 0
    assert Decimal(case["outstanding_balance"]) >= 0
    accepted = statuses.count(201)
    assert accepted == 3  # 1000.00 outstanding takes three payments of 300.00, not a fourth
    assert set(statuses) <= {201, 422}
