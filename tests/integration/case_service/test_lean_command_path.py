"""The lean path for plain commands (api/fast.py) answers exactly as the FastAPI route does.

A body sent as `application/json` takes the lean path; the same body as
`application/merge+json` (JSON to FastAPI, not to the lean path) takes the route's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from arrears.metrics import latest_metrics
from case_service.api import fast
from fastapi.testclient import TestClient

from .conftest import auth

ATTEMPT = {
    "channel": "call",
    "party": "borrower",
    "contact_point": "+8613800000001",
    "outcome": "no_answer",
    "occurred_at": "2026-11-02T02:00:00Z",
    "agent_id": "A-1",
}
LEAN = "application/json"
REGULAR = "application/merge+json"


def _post(
    client: TestClient,
    case_id: str,
    body: Any,
    content_type: str,
    role: str = "collector",
    **h: str,
) -> Any:
    headers = auth(role, **h) | {"Content-Type": content_type}
    return client.post(
        f"/v1/cases/{case_id}/contact-attempts", content=json.dumps(body), headers=headers
    )


def _answer(response: Any, case_id: str) -> tuple[int, Any, str | None, str | None]:
    body = json.loads(response.text.replace(case_id, "<case>"))
    if isinstance(body, dict):
        body.pop("version", None)
        body.pop("current_version", None)
        body.pop("detail", None)  # names the version, which differs between the two cases
    return (
        response.status_code,
        body,
        response.headers.get("content-type"),
        response.headers.get("idempotent-replayed"),
    )


@pytest.mark.parametrize(
    ("body", "role", "headers"),
    [
        (ATTEMPT, "collector", {}),
        (ATTEMPT, "collector", {"Idempotency-Key": "k-1"}),
        (ATTEMPT, "legal", {}),  # a role the route refuses
        ({**ATTEMPT, "channel": "pigeon"}, "collector", {}),
        ({**ATTEMPT, "surprise": 1}, "collector", {}),
        ({k: v for k, v in ATTEMPT.items() if k != "agent_id"}, "collector", {}),
        (ATTEMPT, "collector", {"If-Match": "999"}),
        (ATTEMPT, "collector", {"If-Match": "seven"}),
        (ATTEMPT, "collector", {"Idempotency-Key": "bad\u0007key"}),
        ([ATTEMPT], "collector", {}),
    ],
)
def test_the_lean_path_answers_as_the_route_does(
    client: TestClient,
    open_case: Callable[..., str],
    body: Any,
    role: str,
    headers: dict[str, str],
) -> None:
    lean_case, regular_case = open_case("L-LEAN"), open_case("L-REGULAR")

    lean = _post(client, lean_case, body, LEAN, role, **headers)
    regular = _post(client, regular_case, body, REGULAR, role, **headers)

    assert _answer(lean, lean_case) == _answer(regular, regular_case)
    if "Idempotency-Key" in headers and lean.status_code == 201:  # a retry replays
        again = _post(client, lean_case, body, LEAN, role, **headers)
        assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
        assert again.json() == lean.json()


def test_an_unknown_case_is_404_on_the_lean_path(client: TestClient) -> None:
    response = _post(client, "00000000-0000-4000-8000-000000000000", ATTEMPT, LEAN)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def _counted(route: str, status: str) -> float:
    series = f'method="POST",route="{route}",service="case-service",status="{status}"'
    for line in latest_metrics().decode().splitlines():
        if line.startswith("http_requests_total{") and series in line:
            return float(line.rpartition(" ")[2])
    return 0.0


def test_commands_on_the_lean_path_are_counted_by_their_route(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    route = "/v1/cases/{case_id}/contact-attempts"
    case_id = open_case()
    before = (_counted(route, "201"), _counted("unmatched", "201"))

    assert _post(client, case_id, ATTEMPT, LEAN).status_code == 201
    assert _post(client, case_id, ATTEMPT, LEAN).status_code == 201

    assert (_counted(route, "201"), _counted("unmatched", "201")) == (before[0] + 2, before[1])


def test_a_plain_command_takes_the_lean_path_and_another_media_type_does_not(
    client: TestClient, open_case: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    run_route = fast.run_route

    async def counted(*args: Any) -> Any:
        taken.append(args[0].path)
        return await run_route(*args)

    monkeypatch.setattr(fast, "run_route", counted)
    case_id = open_case()

    assert _post(client, case_id, ATTEMPT, REGULAR).status_code == 201
    assert taken == []
    assert _post(client, case_id, ATTEMPT, LEAN).status_code == 201
    assert taken == ["contact-attempts"]


@pytest.mark.parametrize("content_type", [LEAN, REGULAR])
def test_an_accepted_command_answers_compact_json_with_its_version_as_etag(
    client: TestClient, open_case: Callable[..., str], content_type: str
) -> None:
    case_id = open_case()

    response = _post(client, case_id, ATTEMPT, content_type, **{"Idempotency-Key": "e-1"})
    again = _post(client, case_id, ATTEMPT, content_type, **{"Idempotency-Key": "e-1"})

    version = response.json()["version"]
    expected = {"case_id": case_id, "version": version, "events": ["ContactAttempted"]}
    # The bytes JSONResponse writes: compact separators, UTF-8.
    assert response.content == json.dumps(expected, separators=(",", ":")).encode()
    assert response.headers["etag"] == f'"{version}"'
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in response.headers
    assert (again.content, again.headers["etag"]) == (response.content, f'"{version}"')
    assert again.headers["idempotent-replayed"] == "true"
