"""The daily file's first chunk, handed to the worker processes while the rest of the body is
still read (api/routes/batch.py, `_Beginning`): a file refused, or not as begun, appends
nothing of it, answers as before, and leaves no worker holding a case it never appended."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from arrears.clock import ManualClock
from case_service.api.app import create_app
from case_service.api.routes import batch as batch_route
from case_service.application import CaseApplication
from case_service.daily_file import BegunChunk
from case_service.daily_file import bulk as bulk_module
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings
from fastapi.testclient import TestClient

from .conftest import auth, open_body

LOANS = [f"L-B{n}" for n in range(6)]


@pytest.fixture
def begun(monkeypatch: pytest.MonkeyPatch) -> list[BegunChunk | None]:
    """Each chunk begun, once the workers prepared it (so they hold its cases), and a
    begun chunk of 3 items for a file of 4 or more."""
    monkeypatch.setattr(batch_route._Beginning, "size", 3)
    monkeypatch.setattr(bulk_module, "MIN_FOR_WORKERS", 0)
    monkeypatch.setattr(bulk_module, "FIRST_CHUNK", 3)
    seen: list[BegunChunk | None] = []
    begin = CaseApplication.begin_missed_installments

    def spied(self: CaseApplication, *args: Any) -> BegunChunk | None:
        chunk = begin(self, *args)
        if chunk is not None:
            for future in chunk.futures:
                future.result(timeout=60)  # prepared: the worker keeps its cases
        seen.append(chunk)
        return chunk

    monkeypatch.setattr(CaseApplication, "begin_missed_installments", spied)
    return seen


@pytest.fixture
def client(case_settings: CaseServiceSettings, clock: ManualClock) -> Iterator[TestClient]:
    settings = case_settings.model_copy(update={"daily_file_workers": 2})
    application = CaseApplication(settings, clock=clock)
    try:
        application.start_daily_file_workers()
        for _ in range(600):
            if application._workers is not None and application._workers.ready:
                break
            time.sleep(0.1)
        with TestClient(create_app(settings, application=application)) as test_client:
            for loan in LOANS:
                opened = test_client.post(
                    "/v1/cases", json=open_body(loan), headers=auth("origination")
                )
                assert opened.status_code in (200, 201), opened.text
            yield test_client
    finally:
        application.close()


def _item(loan: str, installment: int = 1, amount: str = "1200.00") -> dict[str, Any]:
    return {"loan_id": loan, "installment": installment, "due_date": "2026-10-01", "amount": amount}


def _post(client: TestClient, items: list[dict[str, Any]]) -> Any:
    return client.post(
        "/v1/missed-payments:batch", json={"items": items}, headers=auth("origination")
    )


def _versions(client: TestClient) -> list[int]:
    return [
        client.get(f"/v1/cases/{CollectionCase.id_for_loan(loan)}", headers=auth("auditor")).json()[
            "version"
        ]
        for loan in LOANS
    ]


def _answer(response: Any) -> tuple[int, Any]:
    body = response.json()
    return response.status_code, {k: body.get(k) for k in ("title", "detail", "errors")}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (_item(LOANS[5], amount="-1.00"), "items.5.amount"),
        ({**_item(LOANS[5]), "case_id": "6f1c1c1e-4a4e-4a9e-9f0a-3f1d2b8c9e01"}, "items.5.loan_id"),
    ],
)
def test_a_file_refused_after_its_first_chunk_was_begun_appends_nothing_of_it(
    client: TestClient,
    begun: list[BegunChunk | None],
    monkeypatch: pytest.MonkeyPatch,
    bad: dict[str, Any],
    field: str,
) -> None:
    good = [_item(loan) for loan in LOANS]
    refused = _post(client, [*good[:5], bad])
    assert begun
    assert begun[-1] is not None  # the workers prepared the first three items
    with monkeypatch.context() as unbegun:
        unbegun.setattr(batch_route._Beginning, "size", 10**6)
        as_before = _post(client, [*good[:5], bad])

    assert _answer(refused) == _answer(as_before)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == field
    assert _versions(client) == [1] * 6
    # Nothing appended; the workers that prepared the begun chunk (its installments recorded
    # in the cases they keep) do not take them as reported: the file resent records each.
    resent = _post(client, good)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["recorded"], resent.json()["unchanged"]) == (6, 0)
    assert begun[-1] is not None  # this one was begun and taken
    assert _versions(client) == [2] * 6


def test_a_file_naming_a_begun_case_again_later_is_recorded_without_its_begun_chunk(
    client: TestClient, begun: list[BegunChunk | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[BegunChunk] = []
    drop = BegunChunk.drop
    monkeypatch.setattr(BegunChunk, "drop", lambda self: (dropped.append(self), drop(self)))
    items = [_item(loan) for loan in LOANS] + [_item(LOANS[0], installment=2)]

    response = _post(client, items)

    assert response.status_code == 200, response.text
    assert (response.json()["recorded"], response.json()["unchanged"]) == (7, 0)
    assert begun[-1] is not None
    assert dropped == [begun[-1]]
    assert _versions(client) == [3, 2, 2, 2, 2, 2]
    again = _post(client, items)
    assert (again.json()["recorded"], again.json()["unchanged"]) == (0, 7)


def test_a_file_as_begun_appends_its_begun_chunk_once(
    client: TestClient, begun: list[BegunChunk | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[BegunChunk] = []
    drop = BegunChunk.drop
    monkeypatch.setattr(BegunChunk, "drop", lambda self: (dropped.append(self), drop(self)))
    # The first three items name two cases, named by no later item.
    items = [_item(LOANS[0]), _item(LOANS[0], installment=2), *(_item(loan) for loan in LOANS[1:])]

    response = _post(client, items)

    assert response.status_code == 200, response.text
    assert (response.json()["recorded"], response.json()["unchanged"]) == (7, 0)
    assert begun[-1] is not None
    assert dropped == []
    assert _versions(client) == [3, 2, 2, 2, 2, 2]


@pytest.mark.parametrize("role", [None, "collector"])
def test_a_file_not_allowed_is_refused_before_anything_is_begun(
    client: TestClient, begun: list[BegunChunk | None], role: str | None
) -> None:
    headers = auth(role) if role is not None else {}

    response = client.post(
        "/v1/missed-payments:batch",
        json={"items": [_item(loan) for loan in LOANS]},
        headers=headers,
    )

    assert response.status_code in (401, 403)
    assert begun == []
