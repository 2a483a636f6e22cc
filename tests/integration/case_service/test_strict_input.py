"""Nothing wrong gets into the record: each class of bad input is a 422 (or 401/413/415)
problem naming the field, and the store is unchanged afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from case_service.application import CaseApplication
from fastapi.testclient import TestClient

from .conftest import JWT_SECRET, auth, open_body


def _head(client: TestClient) -> int:
    return int(client.get("/v1/events?limit=1", headers=auth("auditor")).json()["head"])


def _refused(response: Any, status: int = 422, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


@pytest.mark.parametrize(
    "amount",
    [
        "1e5",
        " 10.00 ",
        "１０.00",
        "1_000.00",
        "10.001",
        "+10.00",
        "-10.00",
        "0x10",
        "10.",
        ".5",
        "NaN",
        "Infinity",
        10,
        10.5,
        True,
        "1234567890123456.00",
        "10.00\n",
    ],
)
def test_money_outside_the_one_grammar_is_refused(
    client: TestClient, open_case: Callable[..., str], amount: Any
) -> None:
    case_id = open_case("L-M")
    before = _head(client)
    response = client.post(
        f"/v1/cases/{case_id}/payments",
        json={"amount": amount, "paid_at": "2026-11-01T10:00:00+08:00", "reference": "P-1"},
        headers=auth("origination"),
    )
    _refused(response, field="amount")
    assert _head(client) == before


@pytest.mark.parametrize(
    ("currency", "principal", "ok"),
    [
        ("JPY", "100000", True),
        ("JPY", "100000.5", False),
        ("KWD", "10.125", True),
        ("KWD", "10.1255", False),
        ("XXX", "10.00", False),
        ("ABC", "10.00", False),
        ("cny", "10.00", False),
    ],
)
def test_currency_is_real_iso_4217_and_sets_the_decimal_places(
    client: TestClient, currency: str, principal: str, ok: bool
) -> None:
    response = client.post(
        "/v1/cases",
        json=open_body(f"L-C-{currency}-{principal}", currency=currency, principal=principal),
        headers=auth("origination"),
    )
    if ok:
        assert response.status_code == 201, response.text
    else:
        body = _refused(response)
        assert body["errors"][0]["field"] in {"currency", "principal"}


@pytest.mark.parametrize(
    "paid_at",
    [
        "0001-01-01T00:00:00.0+00:01",
        "1900-01-01T00:00:00Z",
        1796000000,
        "2026-11-01",
        "2026-11-01T10:00:00",
        "2026-11-01 10:00:00+08:00x",
        "9999-12-31T23:59:59Z",
        "2014-01-01T00:00:00Z",
        "2026-11-03T10:00:00Z",
    ],
)
def test_absurd_times_are_refused(
    client: TestClient, open_case: Callable[..., str], paid_at: Any
) -> None:
    case_id = open_case("L-T")
    before = _head(client)
    response = client.post(
        f"/v1/cases/{case_id}/payments",
        json={"amount": "10.00", "paid_at": paid_at, "reference": "P-2"},
        headers=auth("origination"),
    )
    _refused(response, field="paid_at")
    assert _head(client) == before


@pytest.mark.parametrize(
    ("installment", "due_date", "field"),
    [
        (True, "2026-10-01", "installment"),
        (0, "2026-10-01", "installment"),
        ("3", "2026-10-01", "installment"),
        (3.0, "2026-10-01", "installment"),
        (1, "1900-01-01", "due_date"),
        (1, "2010-01-01", "due_date"),
        (1, 20261001, "due_date"),
        (1, "2026-10-1", "due_date"),
    ],
)
def test_dates_and_integers_are_strict(
    client: TestClient, open_case: Callable[..., str], installment: Any, due_date: Any, field: str
) -> None:
    case_id = open_case("L-D")
    before = _head(client)
    response = client.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": installment, "due_date": due_date, "amount": "1200.00"},
        headers=auth("origination"),
    )
    _refused(response, field=field)
    assert _head(client) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("loan_id", "L-\x00"),
        ("loan_id", "L 1"),
        ("product", "loan\x1b[31m"),
        ("product", "a\x07"),
        ("product", "x\u0085y"),
        ("product", "x" * 101),
    ],
)
def test_control_characters_and_overlong_texts_are_refused(
    client: TestClient, field: str, value: str
) -> None:
    before = _head(client)
    response = client.post(
        "/v1/cases", json=open_body(**{field: value}), headers=auth("origination")
    )
    _refused(response, field=field)
    assert _head(client) == before


def test_notes_keep_newlines_and_tabs_but_no_other_control_character(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-N")
    attempt = {
        "channel": "call",
        "party": "borrower",
        "contact_point": "+8613800000001",
        "outcome": "no_answer",
        "occurred_at": "2026-11-02T09:00:00+08:00",
    }
    ok = client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**attempt, "notes": "line 1\n\tline 2"},
        headers=auth("collector"),
    )
    assert ok.status_code == 201, ok.text
    for bad in ("nul\x00", "bell\x07", "esc\x1b"):
        _refused(
            client.post(
                f"/v1/cases/{case_id}/contact-attempts",
                json={**attempt, "notes": bad},
                headers=auth("collector"),
            ),
            field="notes",
        )


@pytest.mark.parametrize(
    "zone", ["localtime", "UTC", "PRC", "Etc/GMT+8", "Mars/Olympus", "asia/shanghai"]
)
def test_a_borrower_time_zone_must_be_an_iana_region_zone(client: TestClient, zone: str) -> None:
    body = open_body()
    body["borrower"]["timezone"] = zone
    _refused(
        client.post("/v1/cases", json=body, headers=auth("origination")), field="borrower.timezone"
    )


def test_collateral_has_a_schema(client: TestClient) -> None:
    for collateral, field in (
        ({"value": "1e400"}, "collateral.kind"),
        (
            {"kind": "vehicle", "description": "car", "appraised_value": "1e400"},
            "collateral.appraised_value",
        ),
        ({"kind": "vehicle", "description": "car", "appraised_value": "10.001"}, "collateral"),
    ):
        _refused(
            client.post(
                "/v1/cases", json=open_body(collateral=collateral), headers=auth("origination")
            ),
            field=field,
        )
    good = {
        "kind": "real_estate",
        "description": "flat",
        "appraised_value": "2500000.00",
        "appraisal_date": "2026-01-15",
        "lien_rank": 1,
    }
    assert (
        client.post(
            "/v1/cases", json=open_body(collateral=good), headers=auth("origination")
        ).status_code
        == 201
    )


def test_opening_a_loan_again_with_other_data_is_a_conflict_naming_the_fields(
    client: TestClient, cases: CaseApplication
) -> None:
    first = client.post("/v1/cases", json=open_body("L-R"), headers=auth("origination"))
    assert first.status_code == 201
    same = client.post("/v1/cases", json=open_body("L-R"), headers=auth("origination"))
    assert same.status_code == 200
    assert same.json()["case_id"] == first.json()["case_id"]
    before = _head(client)
    other = client.post(
        "/v1/cases",
        json=open_body("L-R", currency="USD", principal="5.00"),
        headers=auth("origination"),
    )
    body = _refused(other, 409)
    assert {e["field"] for e in body["errors"]} == {"currency", "principal"}
    assert _head(client) == before


def test_an_unauthenticated_request_is_401_before_its_body_is_read(client: TestClient) -> None:
    response = client.post(
        "/v1/cases", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _refused(response, 401)


def test_a_body_over_the_route_limit_is_413_and_other_encodings_415(client: TestClient) -> None:
    big = b'{"loan_id": "' + b"x" * (300 * 1024) + b'"}'
    _refused(
        client.post(
            "/v1/cases",
            content=big,
            headers={**auth("origination"), "Content-Type": "application/json"},
        ),
        413,
    )
    utf16 = '{"loan_id": "L-U"}'.encode("utf-16")
    _refused(
        client.post(
            "/v1/cases",
            content=utf16,
            headers={**auth("origination"), "Content-Type": "application/json"},
        ),
        415,
    )
    latin = b'{"loan_id": "L-U"}'
    _refused(
        client.post(
            "/v1/cases",
            content=latin,
            headers={**auth("origination"), "Content-Type": "application/json; charset=latin-1"},
        ),
        415,
    )


def _token(**claims: Any) -> str:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "x",
        "roles": ["admin"],
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "arrears-embedded",
        "aud": "arrears",
    }
    base.update(claims)
    return jwt.encode(
        {k: v for k, v in base.items() if v is not None}, JWT_SECRET, algorithm="HS256"
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil.example"},
        {"iss": None},
        {"aud": "some-other-system"},
        {"aud": None},
        {"roles": {"admin": False}},
        {"roles": 7},
        {"roles": "admin"},
        {"roles": ["janitor"]},
        {"roles": []},
        {"exp": datetime(2100, 1, 1, tzinfo=UTC)},
        {"iat": None},
        {"sub": None},
    ],
)
def test_tokens_must_name_our_issuer_audience_known_roles_and_a_short_life(
    client: TestClient, claims: dict[str, Any]
) -> None:
    before = _head(client)
    response = client.post(
        "/v1/cases",
        json=open_body("L-TOK"),
        headers={"Authorization": f"Bearer {_token(**claims)}"},
    )
    _refused(response, 401)
    assert _head(client) == before


@pytest.mark.parametrize(
    "query",
    [
        "after=99999999999999999999",
        "after=-1",
        "limit=0",
        "after_version=3",
        "after=abc",
        "case_id=nope",
    ],
)
def test_feed_parameters_are_bounded_and_never_ignored(client: TestClient, query: str) -> None:
    _refused(client.get(f"/v1/events?{query}", headers=auth("auditor")))


def test_a_version_beyond_bigint_is_refused(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-V")
    _refused(
        client.get(f"/v1/cases/{case_id}?version=99999999999999999999", headers=auth("auditor")),
        field="version",
    )


def test_a_replayed_open_says_so(client: TestClient) -> None:
    headers = auth("origination", **{"Idempotency-Key": "open-L-IR"})
    first = client.post("/v1/cases", json=open_body("L-IR"), headers=headers)
    again = client.post("/v1/cases", json=open_body("L-IR"), headers=headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_an_unexpected_error_is_a_500_problem_and_never_escapes_the_app() -> None:
    from arrears.errors import NeverFail, install_problem_handlers
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    install_problem_handlers(app)
    app.add_middleware(NeverFail)
    # raise_server_exceptions: an exception escaping to the server (which then drops the
    # keep-alive connection) would fail this test.
    with TestClient(app, raise_server_exceptions=True) as test_client:
        response = test_client.get("/boom")
    body = _refused(response, 500)
    assert body["detail"] == "an unexpected error occurred"
