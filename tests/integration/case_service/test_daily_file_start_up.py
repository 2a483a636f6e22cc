"""The server's start-up builds FastAPI's route table, so a fresh server's first daily file
does not (api/app.py, `route_table_built`)."""

from __future__ import annotations

import asyncio

from case_service.api.app import WARM_UP_PATH, create_app, route_table_built
from case_service.settings import CaseServiceSettings
from fastapi.testclient import TestClient

from .conftest import auth


def test_the_warm_up_request_is_answered_by_no_route(case_settings: CaseServiceSettings) -> None:
    # Every route is matched against it (that is what builds them); none may answer it.
    assert asyncio.run(route_table_built(create_app(case_settings))) == 404


def test_a_server_started_with_the_warm_up_answers_as_before(client: TestClient) -> None:
    assert client.get(WARM_UP_PATH, headers=auth("origination")).status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    answer = client.post(
        "/v1/missed-payments:batch",
        json={
            "items": [{"loan_id": "L-0", "installment": 2, "due_date": "2026-10-01", "amount": "1"}]
        },
        headers=auth("origination"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"][0]["status"] == 404
