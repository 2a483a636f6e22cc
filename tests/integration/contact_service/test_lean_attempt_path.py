"""The lean path for contact attempts and promises (api/fast.py) answers exactly as the
FastAPI routes do.

A body sent as `application/json` takes the lean path; the same body as
`application/merge+json` (JSON to FastAPI, not to the lean path) takes the route's own."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from arrears.clock import ManualClock
from arrears.metrics import latest_metrics
from case_service.application import CaseApplication
from contact_service.api import fast
from contact_service.context import Context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import test_outcomes
from .conftest import START, token
from .test_outcomes import ATTEMPT, _open, _outbox_rows

# test_outcomes' fixtures: a real case-service behind contact-service's command outbox.
cases = test_outcomes.cases
outbox = test_outcomes.outbox

LEAN = "application/json"
REGULAR = "application/merge+json"
BODY = {**ATTEMPT, "occurred_at": START.isoformat()}
LATE = {**ATTEMPT, "occurred_at": (START + timedelta(hours=13)).isoformat()}


async def _post(
    client: Any,
    case_id: str,
    body: Any,
    content_type: str,
    role: str = "collector",
    *,
    route: str = "contact-attempts",
    **h: str,
) -> Any:
    headers = token(role) | h | {"Content-Type": content_type}
    return await client.post(
        f"/v1/cases/{case_id}/{route}", content=json.dumps(body), headers=headers
    )


async def _post_promise(*args: Any, **h: str) -> Any:
    return await _post(*args, route="promises", **h)


def _answer(response: Any, case_id: str) -> tuple[Any, ...]:
    body = json.loads(response.text.replace(case_id, "<case>"))
    if isinstance(body, dict):
        for varying in ("version", "command_id"):
            body.pop(varying, None)
    return (
        response.status_code,
        body,
        response.headers.get("content-type"),
        response.headers.get("idempotent-replayed"),
        "x-command-id" in response.headers,
    )


async def _answered_alike(
    client: Any,
    outbox: Context,
    post: Any,
    cases: tuple[str, str],
    body: Any,
    role: str,
    headers: dict[str, str],
) -> None:
    """The same request on the lean path (to the first case) and the route (to the second)
    gets the same answer; a recorded one replays on a resend; bad input queues nothing."""
    lean_case, regular_case = cases
    lean = await post(client, lean_case, body, LEAN, role, **headers)
    regular = await post(client, regular_case, body, REGULAR, role, **headers)

    assert _answer(lean, lean_case) == _answer(regular, regular_case)
    if lean.status_code == 201:  # a resend replays, on either path
        again = await post(client, lean_case, body, LEAN, role, **headers)
        assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
        assert again.json() == lean.json()
    if lean.status_code >= 400 and lean.status_code != 409:  # bad input changes nothing
        assert await _outbox_rows(outbox) == 0


@pytest.mark.parametrize(
    ("body", "role", "headers", "late"),
    [
        (BODY, "collector", {}, False),
        (BODY, "collector", {"Idempotency-Key": "k-1"}, False),
        (BODY, "supervisor", {}, False),
        (BODY, "auditor", {}, False),  # a role the route refuses
        (LATE, "collector", {"Idempotency-Key": "late"}, True),  # the guard refuses (409)
        ({**LATE, "direction": "inbound", "outcome": "no_answer"}, "collector", {}, True),
        ({**BODY, "channel": "pigeon"}, "collector", {}, False),
        ({**BODY, "surprise": 1}, "collector", {}, False),
        ({**BODY, "occurred_at": "2099-01-01T00:00:00Z"}, "collector", {}, False),
        ({**BODY, "contact_point": "+86\u00071"}, "collector", {}, False),
        ({k: v for k, v in BODY.items() if k != "outcome"}, "collector", {}, False),
        (BODY, "collector", {"Idempotency-Key": "   "}, False),
        (BODY, "collector", {"Idempotency-Key": "k" * 256}, False),
        ([BODY], "collector", {}, False),
    ],
)
async def test_the_lean_path_answers_as_the_route_does(
    client: Any,
    outbox: Context,
    cases: CaseApplication,
    body: Any,
    role: str,
    headers: dict[str, str],
    late: bool,
) -> None:
    lean_case, regular_case = await _open(outbox, cases), await _open(outbox, cases)
    if late:
        assert isinstance(outbox.clock, ManualClock)
        outbox.clock.advance(timedelta(hours=13))  # 23:00 in Shanghai

    await _answered_alike(client, outbox, _post, (lean_case, regular_case), body, role, headers)


async def test_an_unknown_case_is_404_on_the_lean_path(client: Any) -> None:
    response = await _post(client, "00000000-0000-4000-8000-000000000000", BODY, LEAN)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["case_id"]
    assert (
        response.json()["instance"]
        == "/v1/cases/00000000-0000-4000-8000-000000000000/contact-attempts"
    )


def _counted(route: str, status: str) -> float:
    series = f'method="POST",route="{route}",service="contact-service",status="{status}"'
    for line in latest_metrics().decode().splitlines():
        if line.startswith("http_requests_total{") and series in line:
            return float(line.rpartition(" ")[2])
    return 0.0


PROMISE = {"amount": "600.00", "promised_date": (START + timedelta(days=5)).date().isoformat()}


@pytest.mark.parametrize(
    ("body", "role", "headers", "barred"),
    [
        (PROMISE, "collector", {}, False),
        (PROMISE, "collector", {"Idempotency-Key": "p-1"}, False),
        ({**PROMISE, "currency": "CNY", "channel": "sms"}, "supervisor", {}, False),
        ({**PROMISE, "amount": 600.5}, "collector", {}, False),
        (PROMISE, "auditor", {}, False),  # a role the route refuses
        (PROMISE, "collector", {"Idempotency-Key": "barred"}, True),  # the guard refuses
        ({**PROMISE, "amount": "-1"}, "collector", {}, False),
        ({**PROMISE, "currency": "XXX1"}, "collector", {}, False),
        ({**PROMISE, "surprise": 1}, "collector", {}, False),
        ({**PROMISE, "made_at": "2099-01-01T00:00:00Z"}, "collector", {}, False),
        ({"amount": "600.00"}, "collector", {}, False),
        (PROMISE, "collector", {"Idempotency-Key": "k" * 256}, False),
        ([PROMISE], "collector", {}, False),
    ],
)
async def test_the_lean_path_answers_promises_as_the_route_does(
    client: Any,
    outbox: Context,
    cases: CaseApplication,
    body: Any,
    role: str,
    headers: dict[str, str],
    barred: bool,
) -> None:
    lean_case, regular_case = await _open(outbox, cases), await _open(outbox, cases)
    if barred:
        for case_id in (lean_case, regular_case):
            restricted = await client.post(
                f"/v1/cases/{case_id}/contact-restrictions",
                json={"kind": "do_not_contact"},
                headers=token(),
            )
            assert restricted.status_code == 201, restricted.text

    await _answered_alike(
        client, outbox, _post_promise, (lean_case, regular_case), body, role, headers
    )


@pytest.mark.parametrize(
    ("route", "runner", "body"),
    [("contact-attempts", "run_attempt", BODY), ("promises", "run_promise", PROMISE)],
)
async def test_a_plain_command_takes_the_lean_path_is_counted_by_its_route(
    client: Any,
    outbox: Context,
    cases: CaseApplication,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    runner: str,
    body: dict[str, Any],
) -> None:
    taken: list[str] = []
    run = getattr(fast, runner)

    async def counted(*args: Any) -> Any:
        taken.append(str(args[2]))
        return await run(*args)

    monkeypatch.setattr(fast, runner, counted)
    # Two cases: case-service keeps one open promise per case.
    regular_case, lean_case = await _open(outbox, cases), await _open(outbox, cases)
    template = f"/v1/cases/{{case_id}}/{route}"
    before = (_counted(template, "201"), _counted("unmatched", "201"))

    regular = await _post(client, regular_case, body, REGULAR, route=route)
    assert (regular.status_code, taken) == (201, [])
    lean = await _post(client, lean_case, body, LEAN, route=route)
    assert (lean.status_code, taken) == (201, [lean_case])

    assert (_counted(template, "201"), _counted("unmatched", "201")) == (
        before[0] + 2,
        before[1],
    )


_DROP = object()  # the field left out


def _varied(base: dict[str, Any], changes: list[tuple[str, Any]]) -> st.SearchStrategy[Any]:
    """`base` with up to two of `changes` made (each a field set or left out)."""

    def changed(made: list[tuple[str, Any]]) -> dict[str, Any]:
        body = dict(base)
        for field, value in made:
            if value is _DROP:
                body.pop(field, None)
            else:
                body[field] = value
        return body

    return st.lists(st.sampled_from(changes), max_size=2).map(changed)


_ATTEMPT_BODIES = _varied(
    BODY,
    [
        ("channel", "sms"), ("channel", "pigeon"), ("channel", _DROP),
        ("party", "guarantor"), ("party", "neighbour"),
        ("contact_point", "+8613900000009"), ("contact_point", "+86\u00071"),
        ("contact_point", 8613800000001),
        ("outcome", "busy"), ("outcome", "right_party_contact"), ("outcome", "promise"),
        ("outcome", _DROP),
        ("occurred_at", "2099-01-01T00:00:00Z"), ("occurred_at", "yesterday"),
        ("direction", "inbound"), ("direction", "sideways"),
        ("recording_ref", None), ("recording_ref", ""),
        ("notes", "rang twice"), ("notes", "x" * 3000), ("surprise", 1),
    ],
)  # fmt: skip
_PROMISE_BODIES = _varied(
    PROMISE,
    [
        ("amount", "0.01"), ("amount", "-1"), ("amount", "600.001"), ("amount", "1e3"),
        ("amount", 600.5), ("amount", "abc"), ("amount", _DROP),
        ("promised_date", START.date().isoformat()), ("promised_date", "2026-02-30"),
        ("promised_date", _DROP),
        ("currency", "CNY"), ("currency", "USD"), ("currency", "XXX1"), ("currency", None),
        ("channel", "sms"), ("channel", "pigeon"), ("direction", "inbound"),
        ("made_at", START.isoformat()), ("made_at", "2099-01-01T00:00:00Z"), ("made_at", "noon"),
        ("contact_point", "+8613800000001"), ("contact_point", "+86\u00071"), ("surprise", 1),
    ],
)  # fmt: skip


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    route_and_body=st.one_of(
        st.tuples(st.just("contact-attempts"), _ATTEMPT_BODIES),
        st.tuples(st.just("promises"), _PROMISE_BODIES),
    ),
    role=st.sampled_from(["collector", "collector", "supervisor", "auditor"]),
    key=st.sampled_from([None, None, "k-1", "  ", "k" * 255, "k" * 256]),
)
async def test_generated_requests_are_answered_alike_on_both_paths(
    client: Any,
    outbox: Context,
    cases: CaseApplication,
    route_and_body: tuple[str, dict[str, Any]],
    role: str,
    key: str | None,
) -> None:
    route, body = route_and_body
    headers = {} if key is None else {"Idempotency-Key": key}
    lean_case, regular_case = await _open(outbox, cases), await _open(outbox, cases)
    answers = []
    for case_id, content_type in ((lean_case, LEAN), (regular_case, REGULAR)):
        response = await _post(client, case_id, body, content_type, role, route=route, **headers)
        answers.append(_answer(response, case_id))

    assert answers[0] == answers[1]
